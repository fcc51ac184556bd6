// Original file: proto/rivulet/v1/scheduler.proto


export interface GetStatusRequest {
  /**
   * How many recent batches to return per job (default 10, at most 1000).
   */
  'recentBatches'?: (number);
  /**
   * Most jobs in this answer (default and maximum 1000). A page may hold
   * fewer, to stay under the size bound; next_page_token then says so.
   */
  'pageSize'?: (number);
  /**
   * Where to start: a previous answer's next_page_token. Empty: the first
   * page. Jobs are listed in submission order.
   */
  'pageToken'?: (string);
}

export interface GetStatusRequest__Output {
  /**
   * How many recent batches to return per job (default 10, at most 1000).
   */
  'recentBatches': (number);
  /**
   * Most jobs in this answer (default and maximum 1000). A page may hold
   * fewer, to stay under the size bound; next_page_token then says so.
   */
  'pageSize': (number);
  /**
   * Where to start: a previous answer's next_page_token. Empty: the first
   * page. Jobs are listed in submission order.
   */
  'pageToken': (string);
}
