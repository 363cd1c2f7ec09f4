"""State policy: agencies, their purposes, approvals and educators (`agencies`,
`purposes`); stacks, lattices and the rule engine (`stacks`, `stack_rules`, `rule_book`,
`rule_leaves`, `criteria`); evaluating one educator or all of them and the completion
history (`evaluation`, `educator_progress`, `stack_completions`, `completion_*`,
`holdings`, `evaluation_runs`); credentials from elsewhere and their status
(`submissions`, `foreign_status`); what an agency awards (`stack_credentials`); LEAs and
their options (`districts`, `policy_options`, `option_reports`); vetting (`vetting*`);
approved providers and the public curated list; state queries and reports.

Imports: `badges.issuing`, `badges.status`, `badges.webhooks`, `badges.issuers`,
`badges.errors`, and `formats`, `net`, `keys`, `schemas`, `storage`.
"""
