/** DHIS2 list paging: the `pager` object with absolute next/prev links. */

export interface Pager {
  page: number;
  total: number;
  pageSize: number;
  pageCount: number;
  nextPage?: string;
  prevPage?: string;
}

/** DHIS2's page count: at least 1. */
export function pageCount(total: number, pageSize: number): number {
  if (total <= pageSize) return 1;
  return Math.ceil(total / pageSize);
}

/** The pager, with absolute next/prev URLs that keep the other query parameters. */
export function buildPager(requestUrl: URL, baseUrl: string, page: number, pageSize: number, total: number): Pager {
  const count = pageCount(total, pageSize);
  const pager: Pager = { page, total, pageSize, pageCount: count };
  const link = (p: number) => {
    const params = new URLSearchParams(requestUrl.search);
    params.set("page", String(p));
    return `${baseUrl}?${params.toString()}`;
  };
  if (page < count) pager.nextPage = link(page + 1);
  if (page > 1) pager.prevPage = link(Math.min(page - 1, count));
  return pager;
}
