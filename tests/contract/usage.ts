// A small client written against the generated types (openapi-typescript):
// tsc --strict must accept it, so the types say what the API returns and takes.
import type { components, operations, paths } from "./library";

type Book = components["schemas"]["Book"];
type BookRequest = components["schemas"]["BookRequest"];
type Page = components["schemas"]["PaginatedBookList"];
type ListQuery = NonNullable<operations["books_list"]["parameters"]["query"]>;

// Fields the server always returns are required: no `undefined` to handle.
export function line(book: Book): string {
  const subtitle: string = book.subtitle;
  return `${book.id}: ${book.title}${subtitle ? ` - ${subtitle}` : ""} by ${book.author} (${book.isbn})`;
}

export function hasMore(page: Page): boolean {
  const next: string | null = page.next;
  const previous: string | null = page.previous;
  return next !== null || previous === null;
}

// `ordering` declares its values (one or more keys): a typo does not type-check.
const query: ListQuery = { ordering: ["-title", "id"], page_size: 20, search: "austen" };
// @ts-expect-error not a declared ordering
const typo: ListQuery = { ordering: ["titel"] };

// A title-only PATCH needs nothing else.
type PatchBody = NonNullable<operations["books_partial_update"]["requestBody"]>["content"];
const patch: PatchBody["application/json"] = { title: "Emma" };
// Writes are JSON only.
type CreateContent = keyof NonNullable<operations["books_create"]["requestBody"]>["content"];
const onlyJson: CreateContent[] = ["application/json"];
// @ts-expect-error no form bodies
const form: CreateContent = "multipart/form-data";

const create: BookRequest = { title: "Dune", author: "Frank Herbert", isbn: "9780441013593" };
type Detail = paths["/api/books/{id}/"]["get"]["responses"][404]["content"]["application/json"];
export function message(error: Detail): string {
  return error.detail;
}

export const used = [query, typo, patch, onlyJson, form, create];
