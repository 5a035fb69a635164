/**
 * Types for adguard_mw's page API (docs/page-api.md). The API has no fixed global name: find it by this
 * deployment's name, which the server gives your templates (`adguard_mw.page_api_name(request)`), with the
 * helper below (copy it into your code; it is a dozen lines of plain JavaScript in page-api.md).
 */

/** What the server concluded about the reader's browser: `null` until a check has run. */
export type Verdict = "blocked" | "not_blocked" | "unknown" | null;

/** What blocks the ads: an extension in the browser, or a filter on the network (a DNS filter, a proxy). */
export type Kind = "extension" | "network" | null;

/** The message the server asks for on this page, or `null` for none. */
export type Show = "notice" | "instructions" | "soft" | "hard" | null;

/** The reader's status. Every field comes from the server (or, without a beacon, from the check in the page). */
export interface ReaderStatus {
  readonly verdict: Verdict;
  readonly kind: Kind;
  /** With `render_message = "site"`, your UI shows this message; otherwise adguard_mw does. */
  readonly show: Show;
  /** The page's path as the server was last told it (after client-side navigations too). */
  readonly path: string;
}

export interface ReaderSupport {
  /** The status now (a copy). */
  status(): ReaderStatus;
  /**
   * Calls `listener` at once with the status, then after every change, in the order the changes happened.
   * Returns the function that stops it.
   */
  subscribe(listener: (status: ReaderStatus) => void): () => void;
  /** Runs the check again (after consent, say); resolves with the status its answer makes. */
  check(): Promise<ReaderStatus>;
  /**
   * Tells the server of a route change that the History and Navigation APIs did not show (the new path, or the
   * current one); counted as a page view. Resolves with the server's answer.
   */
  navigate(path?: string): Promise<ReaderStatus>;
  /**
   * "This reader is a subscriber": the server asks the site's `exempt` hook with this request's cookies (nothing
   * is taken on the page's word) and answers what to show now; a message it no longer asks for goes away.
   */
  subscriber(): Promise<ReaderStatus>;
}

/** The `detail` of the DOM events on `document` named after this deployment's page API name. */
export type ReaderSupportEventDetail = { api: ReaderSupport } | { verdict: Verdict; kind?: Kind };
