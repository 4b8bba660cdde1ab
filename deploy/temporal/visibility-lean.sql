-- Drops the visibility indexes the order system never filters on. Temporal's PostgreSQL visibility schema has an index
-- per predefined search attribute column (73, 8 of them GIN), and every workflow start, search attribute upsert and
-- close rewrites the row through all of them: measured, most of PostgreSQL's CPU per order (bench/README.md).
-- Kept: the default list and its filters by workflow id, type and status (the Web UI, the CLI); the Keyword columns,
-- where custom Keyword attributes such as OrderState and CustomerId are stored; worker versioning's (drainage).
-- Every list query still answers; one filtering on a dropped column scans the namespace's rows instead.
-- Safe to rerun; run it again after each `update-schema` (a release's migration may add indexes back).
DROP INDEX IF EXISTS
  by_execution_time, by_history_length, by_history_size_bytes, by_execution_duration, by_state_transition_count,
  by_task_queue, by_parent_workflow_id, by_parent_run_id, by_root_workflow_id, by_root_run_id,
  by_temporal_change_version, by_binary_checksums, by_build_ids, by_temporal_pause_info,
  by_temporal_reported_problems, by_used_deployment_versions, by_batcher_user, by_temporal_scheduled_start_time,
  by_temporal_scheduled_by_id, by_temporal_schedule_paused, by_temporal_namespace_division,
  by_temporal_external_payload_size_bytes, by_temporal_external_payload_count,
  by_bool_01, by_bool_02, by_bool_03, by_datetime_01, by_datetime_02, by_datetime_03,
  by_double_01, by_double_02, by_double_03, by_int_01, by_int_02, by_int_03,
  by_text_01, by_text_02, by_text_03, by_keyword_list_01, by_keyword_list_02, by_keyword_list_03,
  by_temporal_bool_01, by_temporal_bool_02, by_temporal_datetime_01, by_temporal_datetime_02,
  by_temporal_double_01, by_temporal_double_02, by_temporal_int_01, by_temporal_int_02,
  by_temporal_keyword_01, by_temporal_keyword_02, by_temporal_keyword_03, by_temporal_keyword_04,
  by_temporal_low_cardinality_keyword_01, by_temporal_keyword_list_01, by_temporal_keyword_list_02;
