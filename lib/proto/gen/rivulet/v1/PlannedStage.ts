// Original file: proto/rivulet/v1/executor.proto


export interface PlannedStage {
  'stageId'?: (number);
  /**
   * The dataset node the stage computes a partition of.
   */
  'nodeId'?: (number);
  'sourceNode'?: (number);
  'shuffleNode'?: (number);
  'mapPartitions'?: (number);
  /**
   * Partitions of the stage (NODE_PARTITIONS_BLOCKS = one per block).
   */
  'numPartitions'?: (number);
  /**
   * A shuffle map stage: buckets for `write_partitions` reduce partitions of this node.
   */
  'writeShuffleNode'?: (number);
  /**
   * A result stage: records of this output.
   */
  'resultOutput'?: (string);
  'writePartitions'?: (number);
  /**
   * Exactly one input: the batch's blocks of source node `source_node`
   * (partition p reads block p), or reduce partition p of `shuffle_node`,
   * written by `map_partitions` map tasks (NODE_PARTITIONS_BLOCKS = one per block).
   */
  'input'?: "sourceNode"|"shuffleNode";
  'sink'?: "writeShuffleNode"|"resultOutput";
}

export interface PlannedStage__Output {
  'stageId': (number);
  /**
   * The dataset node the stage computes a partition of.
   */
  'nodeId': (number);
  'sourceNode'?: (number);
  'shuffleNode'?: (number);
  'mapPartitions': (number);
  /**
   * Partitions of the stage (NODE_PARTITIONS_BLOCKS = one per block).
   */
  'numPartitions': (number);
  /**
   * A shuffle map stage: buckets for `write_partitions` reduce partitions of this node.
   */
  'writeShuffleNode'?: (number);
  /**
   * A result stage: records of this output.
   */
  'resultOutput'?: (string);
  'writePartitions': (number);
  /**
   * Exactly one input: the batch's blocks of source node `source_node`
   * (partition p reads block p), or reduce partition p of `shuffle_node`,
   * written by `map_partitions` map tasks (NODE_PARTITIONS_BLOCKS = one per block).
   */
  'input'?: "sourceNode"|"shuffleNode";
  'sink'?: "writeShuffleNode"|"resultOutput";
}
