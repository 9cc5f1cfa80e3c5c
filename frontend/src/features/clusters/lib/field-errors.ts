// Shared with other forms; kept here so the cluster feature's imports stay put.
export { fieldErrors } from '@/lib/field-errors';
