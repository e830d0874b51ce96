"""The client's view of an incident: a status page behind an unguessable signed link, and its subscribers.

`links` signs and checks the page's link; `flows` makes, renews and revokes a page and posts updates
to it (each a client message that meets the communication plan like an email); `subscriptions`
keeps who hears of updates (email with double opt-in, webhooks, the internal stakeholder tier);
`views` builds the only shape the public page and its feed are drawn from, client-safe values only.
Nothing here imports streamlit or reads the clock.
"""
