export { Field } from '@/components/field';
