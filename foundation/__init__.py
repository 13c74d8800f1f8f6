"""The floor every package stands on (README "Architecture"): it imports no other package of the project.

- :mod:`foundation.config`: every setting, read from the environment (defaults written once, there;
  docs/settings.md is generated from it)
- :mod:`foundation.lake`: the lake layout (paths, partitions, commit markers, Parquet), reading and rewriting
- :mod:`foundation.prompt_terms`: the prompt-term and PII rules (the spec of the dbt macros and the JVM)
- :mod:`foundation.notify`: notifications (log, Slack, SNS)
- :mod:`foundation.aws_clients`: boto3 clients configured by the settings
"""
