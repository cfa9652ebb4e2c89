"""The only way views, services and templates reach the agenda's sensitive objects:
appointments with their motives, care requests, series, mandatory visits, and the lists that
show patients (day, week, print, queue, home).

Each function checks the permission, records the access event (one per object page, one
``list_view`` per list), reads, decrypts into plain frozen data (``data``) and returns it.
A motive, an outcome comment and a care-request text belong to the compartment of their
specialty (``wall``): only those who reach the patient's dossier in that compartment read
them; everyone else sees the appointment's time, place, practitioner and status."""
