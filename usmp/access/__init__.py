"""The access layer's kernel: who reads (``Viewer``), how a read or a refusal is recorded
(``record``), the page rules (``rules``) and the request's safety net (``middleware``).

Every sensitive object type has one access function in its app's ``access`` module
(``dossiers.access``, ``appointments.access``, ``bridge.access``, ``oversight.access``). It
checks the permission, records the access event (allowed or denied, with the same fields
every time), reads, decrypts into plain frozen data and returns it; views render what it
returns after its transaction. Nothing lazy, no key and no lock reaches a template."""
