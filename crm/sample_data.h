// Sample data for `crmsync init --sample-data`: a few companies and persons,
// salespeople, opportunities, an order with lines, interactions, a sales
// cycle with its stages and close reasons, and a segment (with its saved
// criteria) that a campaign targets, so a new user (or a demo against the
// Dataverse emulator) has something to sync.
#pragma once

#include "common/result.h"
#include "crm/store.h"

namespace crmsync::crm {

// Adds the sample records in one transaction when the store holds no
// contacts and no salespeople; returns whether it added them.
Result<bool> AddSampleData(Store& store);

}  // namespace crmsync::crm
