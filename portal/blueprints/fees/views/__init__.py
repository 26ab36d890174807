"""Fee pages: the counter and a unit's account, receipts, billing runs, fee items and rates,
the resident's bills with online payment, and collection (reminders, calls, slips).

Each view loads what it needs through the scoped loaders, calls one service and answers;
the money rules live in the ledger and the services. The page modules are imported here,
at the top, so that importing `bp` registers every route.
"""

from . import collection, counter, resident, setup
from .blueprint import bp

__all__ = ["bp", "collection", "counter", "resident", "setup"]
