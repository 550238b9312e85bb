-- The client page and the work list at a year's volume: a client's received handovers are found
-- by index (not by reading every received handover), and so are the outgoing handovers someone
-- must look at.
CREATE INDEX incoming_client ON incoming_handovers (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX outgoing_state ON outgoing_handovers (state, updated_at);
