"""People: user accounts, passwords, sign-in protection and roles with the page access table.

Owns who a person is and what their role lets them open. It must never import streamlit or
decide anything about a particular incident or account (that is `core.account.access` and the
domain flows), and never stores or logs a plain password.

Modules: `users` (accounts, roles, profiles, enabling and disabling, session checks),
`lockout` (sign-in with throttling, lockout and device tokens), `passwords` (rules and
hashing), `access` (roles and the page access table).
"""
