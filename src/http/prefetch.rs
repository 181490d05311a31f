//! Reads joined to the principal's batch: a route's first reads are known from its path
//! before anyone is authenticated, so they travel in the same D1 round trip as the token or
//! session's user (DESIGN.md §4). They are used only once the guard has passed; a handler whose
//! reads turn out different (a technician's list is narrowed to their own jobs) reads itself.

use std::cell::RefCell;

use worker::Request;

use crate::db::store::{D1Results, D1Store};
use crate::domain::files::Parent;
use crate::error::{AppError, AppResult};
use crate::http::api::apps;
use crate::http::api::customer_messages;
use crate::http::api::customers::{CustomerEntity, SiteEntity};
use crate::http::api::deliveries;
use crate::http::api::files;
use crate::http::api::invoices::InvoiceEntity;
use crate::http::api::jobs;
use crate::http::api::pdfs;
use crate::http::api::quotes::QuoteEntity;
use crate::http::api::visits::{self, VisitEntity};
use crate::http::files::FileEntity;
use crate::http::query::Query;
use crate::http::router::{Matched, Route};
use crate::write::{Entity, Sql, Store};

/// The reads `matched` will make first, if known before authentication.
pub fn reads(req: &Request, matched: &Matched) -> Vec<Sql> {
    let id = || matched.param("id").unwrap_or_default();
    match matched.route {
        Route::GetJob => jobs::get_reads(id()),
        Route::CreateVisits => visits::create_reads(id()),
        Route::UpdateJob | Route::SetJobStatus | Route::AddJobNote => jobs::JobEntity::load(id()),
        Route::ListJobs => jobs::JobsQuery::parse(&req.inner().url())
            .map(|query| jobs::list_reads(&query, None))
            .unwrap_or_default(),
        Route::UpdateVisit | Route::DeleteVisit | Route::SetVisitStatus => VisitEntity::load(id()),
        Route::UpdateSite => SiteEntity::load(id()),
        Route::GetQuote
        | Route::DeleteQuote
        | Route::SendQuote
        | Route::ReviseQuote
        | Route::DeclineQuote
        | Route::AcceptQuote => QuoteEntity::load(id()),
        Route::InvoicePdf => pdfs::invoice_reads(id()),
        Route::QuotePdf => pdfs::quote_reads(id()),
        Route::GetInvoice | Route::DeleteInvoice | Route::VoidInvoice => InvoiceEntity::load(id()),
        Route::GetCustomer | Route::UpdateCustomer | Route::ArchiveCustomer | Route::CreateSite => {
            CustomerEntity::load(id())
        }
        Route::JobOnMyWay => deliveries::on_my_way_reads(id()),
        Route::DeliverQuote => deliveries::reads("quote", id()),
        Route::DeliverInvoice => deliveries::reads("invoice", id()),
        Route::QuoteDeliveries => deliveries::list_reads("quote", id()),
        Route::InvoiceDeliveries => deliveries::list_reads("invoice", id()),
        Route::ListJobFiles => files::parent_reads(Parent::Job, id()),
        Route::ListVisitFiles => files::parent_reads(Parent::Visit, id()),
        Route::ListCustomerFiles => files::parent_reads(Parent::Customer, id()),
        Route::ListSiteFiles => files::parent_reads(Parent::Site, id()),
        Route::ListQuoteFiles => files::parent_reads(Parent::Quote, id()),
        Route::ListInvoiceFiles => files::parent_reads(Parent::Invoice, id()),
        Route::UploadJobFile | Route::SignJob => files::upload_reads(Parent::Job, id()),
        Route::UploadVisitFile => files::upload_reads(Parent::Visit, id()),
        Route::UploadCustomerFile => files::upload_reads(Parent::Customer, id()),
        Route::UploadSiteFile => files::upload_reads(Parent::Site, id()),
        Route::UploadQuoteFile => files::upload_reads(Parent::Quote, id()),
        Route::UploadInvoiceFile => files::upload_reads(Parent::Invoice, id()),
        Route::GetFile | Route::FileContent | Route::DeleteFile => FileEntity::load(id()),
        Route::ListCustomerMessages => customer_messages::list_reads(id()),
        Route::ListSupportSessions => vec![crate::sql!(crate::db::support::SELECT_RECENT)],
        Route::ApproveSupport | Route::RefuseSupport | Route::EndSupport => {
            crate::http::api::support::SupportEntity::load(id())
        }
        Route::ListApps => apps::list_reads(),
        Route::RevokeApp => apps::GrantEntity::load(id()),
        Route::CreateCustomerMessage => customer_messages::create_reads(id()),
        Route::PreviewCustomerErasure | Route::EraseCustomer => {
            crate::http::api::erasure::reads(id())
        }
        _ => Vec::new(),
    }
}

/// Results read ahead with the principal, waiting for their handler.
#[derive(Default)]
pub struct Prefetched(RefCell<Option<(Vec<Sql>, D1Results)>>);

impl Prefetched {
    pub fn keep(&self, reads: Vec<Sql>, results: D1Results) {
        *self.0.borrow_mut() = Some((reads, results));
    }

    /// The results of exactly `reads`, if they were read ahead.
    fn take(&self, reads: &[Sql]) -> Option<D1Results> {
        let mut slot = self.0.borrow_mut();
        match slot.take() {
            Some((planned, results)) if planned == reads => Some(results),
            other => {
                *slot = other;
                None
            }
        }
    }
}

/// `reads`, from the principal's batch when they were read ahead, else in a round trip now.
pub async fn read(store: &D1Store, ahead: &Prefetched, reads: Vec<Sql>) -> AppResult<D1Results> {
    if let Some(results) = ahead.take(&reads) {
        return Ok(results);
    }
    store
        .batch(reads)
        .await
        .map_err(|e| AppError::internal(format!("read batch: {e}")))
}

/// An entity's record, read ahead or now; 404 when there is none.
pub async fn load<E: Entity>(
    store: &D1Store,
    ahead: &Prefetched,
    id: &str,
) -> AppResult<E::Record> {
    let results = read(store, ahead, E::load(id)).await?;
    E::parse(&results, 0)?.ok_or_else(|| AppError::not_found(E::NAME))
}
