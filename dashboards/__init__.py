"""Dashboards as code (issue #7): definitions (``spec``), checks against the marts (``check``,
``catalog``), the QuickSight compiler/validator/publisher (``quicksight``) and the local server
(``local``). See the README section "Dashboards"."""
