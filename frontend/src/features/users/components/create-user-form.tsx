import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateUser } from '../api/create-user';
import { ROLES, type Role } from '../api/schemas';

export function CreateUserForm() {
  const [username, setUsername] = useState('');
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useCreateUser();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { username: username.trim(), full_name: fullName.trim(), password, role },
      {
        onSuccess: () => {
          setUsername('');
          setFullName('');
          setPassword('');
          setRole('viewer');
        },
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Create user">
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
      </label>
      <label>
        Full name
        <input value={fullName} onChange={(e) => setFullName(e.target.value)} autoComplete="off" />
      </label>
      <label>
        Password
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="New user role">
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create user'}
      </button>
      {create.isError && <ErrorMessage error={create.error} />}
      {create.isSuccess && <span className="ok-message">User “{create.data.username}” created.</span>}
    </form>
  );
}
