-- One case, one active office: a client has at most one open handover (drafted, approved and
-- queued, or delivered and waiting for the receiver's decision) at a time. The service checks
-- it first; this index makes concurrent drafts fail instead of both succeeding.
CREATE UNIQUE INDEX outgoing_one_open_per_client ON outgoing_handovers (client_id)
    WHERE state IN ('draft', 'approved', 'delivered');
