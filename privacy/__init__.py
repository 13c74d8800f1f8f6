"""Privacy of the lake, the warehouse and the API's store: ``imagify forget`` and prompt expiry.

- :mod:`privacy.jobs`: the two commands, on the embedded path and on S3 (lake rewrites, tombstones)
- :mod:`privacy.athena`: their warehouse half on Athena (statements derived from dbt and Glue)
"""
