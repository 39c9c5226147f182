import { useState } from 'preact/hooks';
import { useStore } from './use-store';

/** Sign in or create an account (register signs in at once). */
export function Auth() {
  const s = useStore();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const submit = (register: boolean) => (e: Event) => {
    e.preventDefault();
    if (s.authBusy) return;
    void (register ? s.register(username, password) : s.login(username, password));
  };
  return (
    <main class="auth">
      <form class="auth-card" onSubmit={submit(false)} aria-labelledby="auth-title">
        <h1 id="auth-title" class="brand">Parley</h1>
        <p class="muted">Sign in, or pick a username and password to create an account.</p>
        <label>
          Username
          <input data-testid="auth-username" name="username" autocomplete="username" autocapitalize="none" spellcheck={false}
            required minLength={3} maxLength={32} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input data-testid="auth-password" name="password" type="password" autocomplete="current-password" required
            minLength={8} maxLength={128} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {s.authError && <p data-testid="auth-error" class="error" role="alert">{s.authError}</p>}
        <div class="row">
          <button data-testid="auth-login" type="submit" class="primary" disabled={s.authBusy}>Sign in</button>
          <button data-testid="auth-register" type="button" disabled={s.authBusy} onClick={submit(true)}>Create account</button>
        </div>
        <p class="muted small">Usernames: 3-32 of a-z, 0-9, _ and . · passwords: 8-128 characters.</p>
      </form>
    </main>
  );
}
