import { z } from 'zod';

export const ROLES = ['viewer', 'pathologist', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const managedUserSchema = z.object({
  id: z.number(),
  username: z.string(),
  full_name: z.string().nullable().optional().transform((v) => v ?? ''),
  role: roleSchema,
  is_active: z.boolean(),
});
export type ManagedUser = z.infer<typeof managedUserSchema>;

export const userKeys = { list: (page: number) => ['users', 'list', page] as const, all: ['users'] as const };
