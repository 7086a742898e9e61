"""Translation without a store: ERP records or invoices in, validated documents out
(:mod:`.pipeline`, what ``igw translate`` runs), and the same over a process pool for full
validation of large batches (:mod:`.parallel`, ``--jobs``)."""
