"""The only way views, services and templates reach patients and dossiers.

Each function checks the permission, records the access event (allowed or denied), reads,
decrypts into plain frozen data (``data``) and returns it; the caller renders after the
function's transaction has ended. ``patients`` holds the identity and its searches,
``dossier`` the compartments (timeline, entries, documents, sharing), ``consents`` the
patient's decisions, and ``emergency`` the break-the-glass accesses."""
