"""Every ORM table of Kopilka, one module per aggregate."""

from kopilka.models.audit import AuditEntry, IdempotencyRecord
from kopilka.models.bank_import import BankImport, BankImportLine, BankPayerRule
from kopilka.models.base import Base
from kopilka.models.community import ApiKey, Community
from kopilka.models.invoice import Invoice, RecurringChargeRun, RecurringChargeTemplate
from kopilka.models.job import Job
from kopilka.models.ledger import (
    BudgetItem,
    Contribution,
    Expense,
    LedgerEntry,
    MeterReading,
    ServiceCharge,
    Settlement,
)
from kopilka.models.notification import Notification
from kopilka.models.owner import LinkToken, Owner, OwnerFacts, OwnerRow
from kopilka.models.period import (
    Allocation,
    CarryForward,
    Period,
    PeriodBalance,
    PeriodFacts,
    PeriodRow,
)
from kopilka.models.plot import ConsumptionCharge, Meter, Plot, PlotOwner, Reading
from kopilka.models.purchase import Purchase, PurchaseItem
from kopilka.models.recurring_expense import RecurringExpenseRun, RecurringExpenseTemplate
from kopilka.models.totals import AllocationVersion, OwnerPeriodTotal, PeriodExpenseTotal

__all__ = [
    "Allocation",
    "AllocationVersion",
    "ApiKey",
    "AuditEntry",
    "BankImport",
    "BankImportLine",
    "BankPayerRule",
    "Base",
    "BudgetItem",
    "CarryForward",
    "Community",
    "ConsumptionCharge",
    "Contribution",
    "Expense",
    "IdempotencyRecord",
    "Invoice",
    "Job",
    "LedgerEntry",
    "LinkToken",
    "Meter",
    "MeterReading",
    "Notification",
    "Owner",
    "OwnerFacts",
    "OwnerPeriodTotal",
    "OwnerRow",
    "Period",
    "PeriodBalance",
    "PeriodExpenseTotal",
    "PeriodFacts",
    "PeriodRow",
    "Plot",
    "PlotOwner",
    "Purchase",
    "PurchaseItem",
    "Reading",
    "RecurringChargeRun",
    "RecurringChargeTemplate",
    "RecurringExpenseRun",
    "RecurringExpenseTemplate",
    "ServiceCharge",
    "Settlement",
]
