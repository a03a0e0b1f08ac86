"""The park's live numbers: per-tenant ledgers, revenue math, the data multiplier and the
data-asset valuation. Pure Python: no Faust, Kafka, gRPC, Mongo or protobuf, and no I/O.

How events become numbers
=========================

A source event (TradeSettled, OrderRefunded, RevenueReported, a tenant snapshot) is split
into *facts*, one per tenant it concerns (``facts.facts_of_settlement`` & co.): the seller's
SALE (net, fee, gross, the buyer, the product's classification level) and the buyer's
PURCHASE (gross). A fact's id is a UUIDv5 of the source event id and the tenant's role,
so the same source event always yields the same fact ids, whoever splits it and however
often.

Facts are applied to the tenant's ``ledger.TenantLedger`` by ``ledger.apply_fact``. A ledger
holds every figure of one tenant *and* ``applied_offset``, the highest repartition-topic
offset already applied to it: a fact whose offset is not higher is skipped. Because figures
and guard travel in one value (one changelog record), a crash can never leave one updated
without the other. Duplicates that arrive at a *different* offset (a producer's re-send, or
the split re-run after a crash) are caught by fact id (``ledger.decide``).

Money is integer minor units (fen); ratios are ``fractions.Fraction`` and decimal strings
(``ratios``); rounding is half up, once, at the end. No float ever touches money.

Windows are tumbling UTC hours and days of *event time* (when a trade settled or was
refunded), so replaying the same facts gives the same buckets (``windows``). Buckets older
than the retention (counted back from the newest event time the tenant has seen) are
dropped; all-time figures keep everything.

The modules, one idea each:

- ``facts``: source events in domain terms and the per-tenant facts they split into;
- ``revenue``: a tenant's (or a slice's) revenue and data spend, and the data multiplier;
- ``ratios``: exact ratios, half-up rounding and decimal strings;
- ``windows``: hour and day buckets of event time and their retention;
- ``valuation``: the income approach -- policy, formula, and the valuations it yields;
- ``ledger``: a tenant's ledger, applying a fact to it, and the exactly-once rule.
"""
