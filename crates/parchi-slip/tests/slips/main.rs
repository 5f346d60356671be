//! Integration tests for parchi-slip, one binary with a module per area.
//!
//! They use the real tools a person would: poppler's pdftoppm and pdftotext to look at a slip,
//! zbar's zbarimg to scan it, and CUPS with the cups-pdf virtual printer to print it
//! (`scripts/setup-cups.sh` sets that up). Debian packages: poppler-utils, zbar-tools, cups,
//! cups-client, cups-bsd, printer-driver-cups-pdf.

mod fixtures;
mod printing;
mod render;
mod report;
mod snapshot;
mod svg;
