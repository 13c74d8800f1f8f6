# The scheduled warehouse build (infra/operations.yaml): `imagify build` (dbt on Athena through Dagster)
# and `dbt run-operation iceberg_maintenance`. Build and push it to the operations stack's repository
# (output BuildRepositoryUri), then deploy with IMAGIFY_BUILD_IMAGE_TAG=<tag>; see README "Operations on AWS".
#   docker build -f infra/build.Dockerfile -t <BuildRepositoryUri>:<tag> .
# Not built by the test suite (no registry offline): the task definition that runs it is tested.
FROM python:3.11-slim
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/app.txt -c requirements/app.lock
COPY pyproject.toml ./
COPY imagify/ imagify/
COPY foundation/ foundation/
COPY privacy/ privacy/
COPY ingestion/ ingestion/
COPY flink_jobs/ flink_jobs/
COPY orchestration/ orchestration/
COPY generation_service/ generation_service/
COPY dashboards/ dashboards/
COPY dbt/ dbt/
# editable: imagify finds its dbt project next to it (/app/dbt, where dbt also writes target/ and logs/)
RUN pip install --no-cache-dir --no-deps -e . && useradd --create-home imagify && chown -R imagify /app/dbt
USER imagify
# Dagster's instance and dbt's target are per run: the task's disk is thrown away afterwards
ENV IMAGIFY_HOME=/tmp/imagify
CMD ["imagify", "build"]
