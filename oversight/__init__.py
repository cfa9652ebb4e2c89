"""The unit coordinator's oversight pages: the audit trail, its flags, the patient's access
report, break-the-glass reviews. Reads usmp.audit and the domain apps; writes only reviews."""
