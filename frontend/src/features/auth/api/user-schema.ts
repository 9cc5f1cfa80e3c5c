import { z } from 'zod';

export const roleSchema = z.enum(['admin', 'pathologist', 'viewer']);
export type Role = z.infer<typeof roleSchema>;

export const userSchema = z.object({
  id: z.number(),
  username: z.string(),
  full_name: z.string().default(''),
  role: roleSchema,
  is_active: z.boolean().default(true),
});
export type User = z.infer<typeof userSchema>;

export const meQueryKey = ['auth', 'me'] as const;
