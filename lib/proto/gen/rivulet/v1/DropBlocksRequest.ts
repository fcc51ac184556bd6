// Original file: proto/rivulet/v1/executor.proto


export interface DropBlocksRequest {
  'blockIds'?: (string)[];
  /**
   * Drop every block whose id starts with one of these prefixes.
   */
  'prefixes'?: (string)[];
}

export interface DropBlocksRequest__Output {
  'blockIds': (string)[];
  /**
   * Drop every block whose id starts with one of these prefixes.
   */
  'prefixes': (string)[];
}
