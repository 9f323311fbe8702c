// Validation of names and object metadata, with upstream's messages.
import type { FieldError } from './status.ts';
import { isPlainObject, type ObjectMeta } from './object.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type NameRule = 'subdomain' | 'label' | 'path';

export function validateName(name: string, rule: NameRule): string[] {
  const errs: string[] = [];
  if (rule === 'path') {
    if (name === '.' || name === '..') errs.push(`may not be '${name}'`);
    for (const bad of ['/', '%']) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
    return errs;
  }
  if (rule === 'label') {
    if (name.length > 63) errs.push('must be no more than 63 characters');
    if (!DNS1123_LABEL.test(name)) {
      errs.push(`a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`);
    }
    return errs;
  }
  if (name.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(name)) {
    errs.push(`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`);
  }
  return errs;
}

function validateQualifiedName(key: string): string[] {
  const parts = key.split('/');
  const errs: string[] = [];
  let name = key;
  if (parts.length > 2) return [`a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) errs.push(`prefix part ${validateName(prefix, 'subdomain').join('; ')}`);
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else {
    if (name.length > 63) errs.push('name part must be no more than 63 characters');
    if (!QUALIFIED_NAME.test(name)) {
      errs.push(`name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`);
    }
  }
  return errs;
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateObjectMeta(m: ObjectMeta, opts: { namespaced: boolean; nameRule: NameRule }): FieldError[] {
  const errs: FieldError[] = [];
  if (!m.name && !m.generateName) errs.push({ type: 'FieldValueRequired', field: 'metadata.name', detail: 'Required value: name or generateName is required' });
  if (m.name) for (const e of validateName(m.name, opts.nameRule)) errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', detail: `Invalid value: "${m.name}": ${e}` });
  if (opts.namespaced && !m.namespace) errs.push({ type: 'FieldValueRequired', field: 'metadata.namespace', detail: 'Required value' });
  if (!opts.namespaced && m.namespace) errs.push({ type: 'FieldValueForbidden', field: 'metadata.namespace', detail: 'Forbidden: not allowed on this type' });
  if (m.labels !== undefined) {
    if (!isPlainObject(m.labels)) errs.push({ type: 'FieldValueTypeInvalid', field: 'metadata.labels', detail: 'Invalid value: must be a map of strings' });
    else
      for (const [k, v] of Object.entries(m.labels)) {
        for (const e of validateQualifiedName(k)) errs.push({ type: 'FieldValueInvalid', field: 'metadata.labels', detail: `Invalid value: "${k}": ${e}` });
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
          errs.push({ type: 'FieldValueInvalid', field: `metadata.labels`, detail: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')` });
        }
      }
  }
  if (m.annotations !== undefined) {
    if (!isPlainObject(m.annotations)) errs.push({ type: 'FieldValueTypeInvalid', field: 'metadata.annotations', detail: 'Invalid value: must be a map of strings' });
    else {
      let total = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        for (const e of validateQualifiedName(k.toLowerCase())) errs.push({ type: 'FieldValueInvalid', field: 'metadata.annotations', detail: `Invalid value: "${k}": ${e}` });
        total += k.length + (typeof v === 'string' ? v.length : 0);
      }
      if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', detail: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes` });
    }
  }
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) errs.push({ type: 'FieldValueTypeInvalid', field: 'metadata.finalizers', detail: 'Invalid value: must be a list of strings' });
    else
      m.finalizers.forEach((f, i) => {
        for (const e of validateQualifiedName(String(f))) errs.push({ type: 'FieldValueInvalid', field: `metadata.finalizers[${i}]`, detail: `Invalid value: "${f}": ${e}` });
      });
  }
  return errs;
}
