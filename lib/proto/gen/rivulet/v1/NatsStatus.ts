// Original file: proto/rivulet/v1/scheduler.proto


/**
 * The scheduler's NATS connection (lib/nats/replicas.ts: natsReplicas).
 */
export interface NatsStatus {
  /**
   * False while the connection is down (the client is reconnecting).
   */
  'connected'?: (boolean);
  /**
   * The server the connection uses now: its name (server_name) and its
   * client address (host:port); the last one while disconnected.
   */
  'serverName'?: (string);
  'serverUrl'?: (string);
  /**
   * The NATS cluster's name, empty for a single server.
   */
  'cluster'?: (string);
  /**
   * Servers of the cluster the connected server advertises to clients
   * (itself included): 1 for a single server; fewer than deployed while a
   * server is down.
   */
  'clusterSize'?: (number);
  /**
   * The scheduler's natsReplicas: copies of every stream and bucket.
   */
  'replicas'?: (number);
}

/**
 * The scheduler's NATS connection (lib/nats/replicas.ts: natsReplicas).
 */
export interface NatsStatus__Output {
  /**
   * False while the connection is down (the client is reconnecting).
   */
  'connected': (boolean);
  /**
   * The server the connection uses now: its name (server_name) and its
   * client address (host:port); the last one while disconnected.
   */
  'serverName': (string);
  'serverUrl': (string);
  /**
   * The NATS cluster's name, empty for a single server.
   */
  'cluster': (string);
  /**
   * Servers of the cluster the connected server advertises to clients
   * (itself included): 1 for a single server; fewer than deployed while a
   * server is down.
   */
  'clusterSize': (number);
  /**
   * The scheduler's natsReplicas: copies of every stream and bucket.
   */
  'replicas': (number);
}
