"""Flask CLI command groups, one module per group; each group is listed in
`incident_app.web.COMMAND_GROUPS`, which the factory registers."""
