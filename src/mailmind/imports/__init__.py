"""Import of mail files (mbox, .eml, zip of .eml) into a user's local account."""
