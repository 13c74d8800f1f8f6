"""Job ``expire_raw_prompts``: raw prompts of lake partitions older than ``IMAGIFY_RAW_PROMPT_RETENTION_DAYS``
keep only their terms, in the lake and in staging (:func:`privacy.jobs.expire_prompts`). It writes the
warehouse, so it queues behind builds like them (tag ``imagify/warehouse``)."""

from dagster import MetadataValue, OpExecutionContext, job, op

from foundation import config
from orchestration.defs.warehouse.jobs import WAREHOUSE_TAGS

EXPIRE_JOB_NAME = "expire_raw_prompts"


@op(description="Replace raw prompts older than the retention by their terms (lake events/ files and staging).")
def expire_raw_prompts_op(context: OpExecutionContext) -> dict:
    from privacy import jobs as privacy_jobs

    report = privacy_jobs.expire_prompts(config.load())
    context.add_output_metadata(
        {
            "cutoff (dt <)": report.cutoff,
            "files_rewritten": report.files_rewritten,
            "prompts_expired": report.prompts_expired,
            "staging_rows": report.staging_rows,
            "partitions": MetadataValue.json(report.partitions),
        }
    )
    return report.as_dict()


@job(
    name=EXPIRE_JOB_NAME,
    tags=WAREHOUSE_TAGS,
    description="Retention of raw prompts (IMAGIFY_RAW_PROMPT_RETENTION_DAYS, default 90): lake partitions older "
    "than that keep only each prompt's terms; the marts do not change. Same as `imagify privacy expire-prompts`.",
)
def expire_raw_prompts() -> None:
    expire_raw_prompts_op()
