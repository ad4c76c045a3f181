import type { FC } from "hono/jsx";
import { Field, Layout, Notice } from "../components";

export const SignInPage: FC<{ next: string; problem?: string; signedOut?: boolean }> = ({ next, problem, signedOut }) => (
  <Layout title="Sign in">
    <div class="signin">
      <h1>Sign in to Doorbell</h1>
      {signedOut ? <Notice kind="ok">You are signed out.</Notice> : null}
      <form method="post" action="/sign-in" class="stacked">
        <input type="hidden" name="next" value={next} />
        <Field
          name="token" label="API token" type="password" autocomplete="current-password" autofocus required
          problems={problem ? [problem] : []} hint="The API_TOKEN secret of this Doorbell."
        />
        <button type="submit" class="primary">Sign in</button>
      </form>
    </div>
  </Layout>
);
