export { FieldError } from '@/components/field-error';
