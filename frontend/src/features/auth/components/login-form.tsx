import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useLogin } from '../api/login';
import type { User } from '../api/user-schema';

export function LoginForm({ onSuccess }: { onSuccess: (user: User) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const loginMutation = useLogin();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    loginMutation.mutate({ username, password }, { onSuccess });
  };

  return (
    <form className="login-form" onSubmit={submit} aria-label="Log in">
      <label>
        Username
        <input
          name="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
          autoFocus
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {loginMutation.isError && <ErrorMessage error={loginMutation.error} />}
      <button type="submit" className="btn btn-primary" disabled={loginMutation.isPending}>
        {loginMutation.isPending ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
