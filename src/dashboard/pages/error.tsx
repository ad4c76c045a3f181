import type { FC } from "hono/jsx";
import { Layout } from "../components";

export const ErrorPage: FC<{ title: string; message: string; csrfToken?: string }> = ({ title, message, csrfToken }) => (
  <Layout title={title} csrfToken={csrfToken}>
    <h1>{title}</h1>
    <p>{message}</p>
    <p><a href="/">Back to the subscriptions</a></p>
  </Layout>
);
