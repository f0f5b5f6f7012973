"""The CRM contract over the file: read, validate and change a workbook.

``reader`` turns the file into raw frames, ``validation`` checks them against the
contract and builds the :class:`~sheetcrm.workbook.book.Book` every rule works on,
``writer`` is the one way to change a workbook (lock, write aside, verify,
atomic replace, backup). ``newbook`` and ``sample`` make new workbooks.
"""
