"""The billing provider the claim tests submit 837I batches as (test usage, ISA15 T)."""

from __future__ import annotations

from payers.formats.x12_837i import Address, Submitter

SUBMITTER = Submitter(
    name="Harbor Behavioral Health",
    npi="1234567893",
    tax_id="123456789",
    address=Address(line="1 Harbor Way", city="Springfield", state="IL", zip="627011234"),
    contact_name="Billing Office",
    contact_phone="2175550100",
    sender_id="HARBOR01",
    receiver_id="CLEARHOUSE",
    receiver_name="Example Clearinghouse",
    usage="T",
)
