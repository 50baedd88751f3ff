/** What a page of the console is: a title for the tab, and its content for the main landmark. */
import type { Child } from '../dom';

/** A drawn page. */
export interface PageContent {
  /** The page's name, shown in the tab as `<title> · Flow console`. */
  readonly title: string;
  /** The content, which starts with the page's one `h1`. */
  readonly content: Child;
}

/** Draws a page from the route's parameters (decoded path segments). */
export type Page = (params: readonly string[]) => Promise<PageContent>;
