"""Report pages (one feature above the others): the fee-collection report and arrears, the
daily cash report, complaint statistics and repairs figures — each as a page, and as .xlsx
and PDF where it is printed or shared. Periods are read by `periods.requested_period` in
the estate's time zone; files leave through core/downloads.

The page modules are imported here, at the top, so that importing `bp` registers every
route.
"""

from . import cash, complaints, fees, repairs
from .blueprint import bp

__all__ = ["bp", "cash", "complaints", "fees", "repairs"]
