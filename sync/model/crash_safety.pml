/*
 * crash_safety.pml: the engine's crash-safety protocol (design.md R1-R3),
 * modelled after sync/mapping_pass.cpp as it is. README.md beside this file
 * says what is modelled, what is abstracted and how each part maps to the
 * code. One mapping, one source record, one mapped field (identity mapping,
 * so a value means the same on both sides), values 1..EDITS+1 (0 = null).
 *
 * Processes: Engine (passes forever; may crash after any step that changed a
 * store and restarts from the stores only), User (edits either side, at most
 * EDITS times). Dataverse and the local store are the globals below, changed
 * only in atomic steps (one HTTP request / one SQLite transaction each);
 * Dataverse may apply a write and lose its answer, or fail before applying.
 *
 * Properties
 *   P1 no record created twice: assert at every create (ndv <= 1, nlo <= 1),
 *      i.e. [] (ndv <= 1 && nlo <= 1).
 *   P2 no change lost: once the user is done the engine may turn calm (no
 *      more crashes or faults); after SETTLE calm passes both sides hold the
 *      value of the last edit, once each, and are coupled (end-state assert).
 *
 * Knobs (-D on spin's command line)
 *   ORIGIN     0: the record starts as a local row (Dataverse create, intent)
 *              1: it starts in Dataverse (local create, crmsync_origin)
 *   EDIT_SIDE  0: the user edits both sides, one side at a time (an edit on
 *                 a side is made only when the other side holds the same
 *                 value, or the last edit was on this side: no true
 *                 conflicts, so the last edit is the expected value)
 *              1: local side only    2: Dataverse only
 *   EDITS, MAXCRASH, MAXFAULT  bounds (defaults 2, 1, 1)
 *   POLICY     0: local_wins (default)  1: remote_wins
 *   BROKEN_SEND_BEFORE_INTENT    the create is sent before its intent is recorded
 *   BROKEN_CURSOR_BEFORE_WRITES  a page's cursor is committed before its writes
 *   The fixes of D1 (FIX_INTENT_BASE), D2 (FIX_LOCAL_CREATE) and D3
 *   (FIX_WRITE_INTENT) are in the code and on by default;
 *   OLD_INTENT_BASE, OLD_LOCAL_CREATE, OLD_WRITE_INTENT  the code before each was fixed
 */

/* The code keeps the fixes of defects D1 (MappingPass::CreatedBase and
 * SettleWriteIntents), D2 (MappingPass::RecoverLocalCreates: a local create
 * is on record with its bases before it is made, state schema v3) and D3
 * (MappingPass::WentThrough, with the version a write intent expects);
 * OLD_INTENT_BASE, OLD_LOCAL_CREATE and OLD_WRITE_INTENT model the code as it
 * was before each. */
#ifndef OLD_LOCAL_CREATE
#define FIX_LOCAL_CREATE
#endif
#ifndef OLD_INTENT_BASE
#define FIX_INTENT_BASE
#endif
#ifndef OLD_WRITE_INTENT
#define FIX_WRITE_INTENT
#endif
#ifndef ORIGIN
#define ORIGIN 0
#endif
#ifndef EDIT_SIDE
#define EDIT_SIDE 0
#endif
#ifndef EDITS
#define EDITS 2
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXFAULT
#define MAXFAULT 1
#endif
#ifndef POLICY
#define POLICY 0
#endif
#ifndef RESEND
#define RESEND 1   /* the transport resends a request whose answer was lost (R7) */
#endif
#define SETTLE 3

#define LOC 0
#define REM 1
#define NONE 0
#define CREATE 1
#define UPDATE 2
#define R_OK 0
#define R_TRANSIENT 1
#define R_CONFLICT 2
#define R_FOUND 3     /* FIX_LOCAL_CREATE: a create found the row of an earlier attempt */

#define MAXG 5   /* GUIDs 1..4; 0 = none */
#define MAXK 4   /* local keys 1..3; 0 = none */

/* ---- Dataverse: records by GUID; dv_seq is the org's version counter ---- */
bool dv_ex[MAXG];
byte dv_val[MAXG];
byte dv_ver[MAXG];
byte dv_seq;
byte ndv;        /* records of the source record held by Dataverse */
byte next_guid = 1;  /* NewGuid(): random GUIDs never repeat */

/* ---- the local store: rows by key, journal seq, crmsync_origin ---- */
bool lo_ex[MAXK];
byte lo_val[MAXK];
byte lo_ver[MAXK];  /* journal seq of the row's latest change */
byte lo_org[MAXK];  /* crmsync_origin: the GUID the row was created from */
byte lo_orgval[MAXK];  /* FIX_LOCAL_CREATE only: the values it was created with, kept with crmsync_origin */
byte lo_seq;
byte lo_next = 1;   /* the number series */
byte nlo;

/* ---- the state store (state/migrations/0001_state.sql) ---- */
bool in_ex; byte in_key; byte in_guid; byte in_base;      /* intent */
bool wr_ex; byte wr_val; byte wr_exp;                     /* write_intent, target remote */
bool wl_ex; byte wl_val; byte wl_exp;                     /* write_intent, target local */
bool cp_ex; byte cp_key; byte cp_guid; byte cp_bl; byte cp_br; byte cp_lv; byte cp_rv;  /* coupling */
byte cur_r; byte cur_l;   /* cursors: 0 = empty (a full read); c = changes at versions >= c */
bool fl_ex; bit fl_side; byte fl_key;   /* failure to retry (transient) */

/* ---- the environment ---- */
byte crashes;
byte faults;
bool calm;        /* no more crashes or faults */
bool user_done;
byte edits;
byte last_val = 1;
bit last_side = ORIGIN;

#define CRASH \
  if \
  :: (crashes < MAXCRASH && !calm) -> crashes++; printf("MSC: CRASH\n"); goto restart \
  :: true -> skip \
  fi

#define FAULTY (faults < MAXFAULT && !calm)

/* The first (with the protocol right: the only) record of each side. */
#define DVREC(x) if :: dv_ex[1] -> x = 1 :: else -> if :: dv_ex[2] -> x = 2 :: else -> if :: dv_ex[3] -> x = 3 :: else -> x = 0 fi fi fi
#define LOREC(x) if :: lo_ex[1] -> x = 1 :: else -> if :: lo_ex[2] -> x = 2 :: else -> x = 0 fi fi

/* ---------------------------------------------------------------------- */
/* The user: EDITS edits at most, on the side(s) EDIT_SIDE allows.         */

proctype User() {
  byte x; byte y;
  do
  :: edits < EDITS ->
     atomic {
       DVREC(x); LOREC(y);
       if
       :: (EDIT_SIDE != 2 && y != 0 &&
           (EDIT_SIDE == 1 || last_side == LOC || x == 0 || dv_val[x] == lo_val[y])) ->
          edits++; lo_seq++; lo_val[y] = edits + 1; lo_ver[y] = lo_seq;
          last_val = edits + 1; last_side = LOC;
          printf("MSC: user edits local row %d := %d\n", y, lo_val[y])
       :: (EDIT_SIDE != 1 && x != 0 &&
           (EDIT_SIDE == 2 || last_side == REM || y == 0 || dv_val[x] == lo_val[y])) ->
          edits++; dv_seq++; dv_val[x] = edits + 1; dv_ver[x] = dv_seq;
          last_val = edits + 1; last_side = REM;
          printf("MSC: user edits Dataverse %d := %d\n", x, dv_val[x])
       fi
     }
  :: true -> break
  od;
  user_done = true
}

/* ---------------------------------------------------------------------- */
/* The engine's steps, as inlines over the Engine's locals.                */

/* Fail(item): a transient failure; the failure row brings it back (RetryParked). */
inline Fail(retryable) {
  failed = 1; done = 1;
  if :: retryable -> incomplete = 1 :: else -> skip fi
}

/* RecoverWriteIntents' test, on the coupling in bl/br/clv/crv of key k, id g:
   "did the write go through? Then the target holds exactly what it wrote." */
inline SettleWriteIntents() {
  if
  :: wr_ex ->
     atomic { tv = dv_val[g]; tver = dv_ver[g] }
     if
     :: tv == wr_val -> bl = wr_val; br = wr_val; dirty = 1
#ifdef FIX_WRITE_INTENT
        ; crv = tver
     :: tv != wr_val && tver != wr_exp -> bl = wr_val; br = wr_val; dirty = 1  /* applied, then edited */
     :: tv != wr_val && tver == wr_exp -> skip                                   /* never applied */
#else
     :: else -> skip   /* not through: the intent is dropped, the bases stay */
#endif
     fi
  :: else -> skip
  fi;
  if
  :: wl_ex ->
     atomic { tv = lo_val[k]; tver = lo_ver[k] }
     if
     :: tv == wl_val -> bl = wl_val; br = wl_val; dirty = 1
#ifdef FIX_WRITE_INTENT
        ; clv = tver
     :: tv != wl_val && tver != wl_exp -> bl = wl_val; br = wl_val; dirty = 1
     :: tv != wl_val && tver == wl_exp -> skip
#else
     :: else -> skip
#endif
     fi
  :: else -> skip
  fi
}

/* PrepareRemoteSourced for the item read from Dataverse (g, hr, rv, rver). */
inline PrepareRemote() {
  if
  :: !fullread && cp_ex && cp_guid == g && cp_rv == rver -> done = 1   /* R4: our own write */
  :: else ->
     if
     :: cp_ex && cp_guid == g ->
        cpl = 1; k = cp_key; bl = cp_bl; br = cp_br; clv = cp_lv; crv = cp_rv;
        atomic { hl = lo_ex[k]; lv = lo_val[k]; lver = lo_ver[k] }
     :: !(cp_ex && cp_guid == g) && in_ex && in_guid == g ->
        /* our own create whose coupling a crash lost */
        cpl = 1; k = in_key; bl = in_base;
#ifdef FIX_INTENT_BASE
        br = in_base;
#else
        br = rv;
#endif
        crv = rver; clv = 0; dirty = 1; intent_done = 1;
#ifdef FIX_INTENT_BASE
        SettleWriteIntents();
#endif
        atomic { hl = lo_ex[k]; lv = lo_val[k]; lver = lo_ver[k] }
     :: !(cp_ex && cp_guid == g) && !(in_ex && in_guid == g) ->
        crl = 1   /* MatchLocally without match_on: create it locally */
     fi
  fi
}

/* PrepareLocalSourced for the item read from the journal (k, hl, lv, lver, org). */
inline PrepareLocal() {
  if
  :: !fullread && cp_ex && cp_key == k && cp_lv == lver -> done = 1    /* R4 */
  :: else ->
     if
     :: cp_ex && cp_key == k ->
        cpl = 1; g = cp_guid; bl = cp_bl; br = cp_br; clv = cp_lv; crv = cp_rv
     :: !(cp_ex && cp_key == k) && org != 0 && !(cp_ex && cp_guid == org) ->
        /* the row crmsync created from this record; the pass that coupled them was lost */
        g = org;
        atomic { hr = dv_ex[g]; rv = dv_val[g]; rver = dv_ver[g] }
        assert(hr);   /* no deletes in the model */
#ifdef FIX_LOCAL_CREATE
        cpl = 1; bl = lo_orgval[k]; br = lo_orgval[k]; clv = 0; crv = 0; dirty = 1
#else
        cpl = 1; bl = 0; br = 0; clv = 0; crv = 0; dirty = 1   /* no bases: null on both sides */
#endif
     :: !(cp_ex && cp_key == k) && !(org != 0 && !(cp_ex && cp_guid == org)) ->
        if
        :: in_ex && in_key == k -> iguid = in_guid
        :: else -> skip
        fi;
        crr = 1
     fi
  fi
}

/* Decide: a create, or the three-way merge of one field (sync/merge.cpp). */
inline Decide() {
  rop = NONE; lop = NONE;
  if
  :: crr ->
     rop = CREATE; rop_val = lv;
     if
     :: iguid != 0 -> g = iguid
     :: else -> assert(next_guid < MAXG); g = next_guid; next_guid++
     fi;
     iguid = g
  :: !crr && crl -> lop = CREATE; lop_val = rv
  :: !crr && !crl && !(cpl && hl) -> skip
  :: !crr && !crl && cpl && hl ->
     remote_now = (hr -> rv : br);
     lch = (lv != bl); rch = (remote_now != br);
     if
     :: lch && !rch -> rop = UPDATE; rop_val = lv; rop_exp = (hr -> rver : crv)
     :: !lch && rch -> lop = UPDATE; lop_val = remote_now; lop_exp = lver
     :: lch && rch && lv != remote_now ->
#if POLICY == 0
        rop = UPDATE; rop_val = lv; rop_exp = (hr -> rver : crv)
#else
        lop = UPDATE; lop_val = remote_now; lop_exp = lver
#endif
     :: else -> skip   /* unchanged, or converged */
     fi
  fi
}

/* Dataverse answers one write (POST with the client's GUID, or PATCH If-Match). */
inline ApplyToDataverse() {
  if
  :: rop == CREATE ->
     dv_ex[g] = 1; dv_val[g] = rop_val; dv_seq++; dv_ver[g] = dv_seq;
     ndv++; printf("MSC: Dataverse creates %d = %d\n", g, rop_val); assert(ndv <= 1)    /* P1 */
  :: rop == UPDATE -> dv_val[g] = rop_val; dv_seq++; dv_ver[g] = dv_seq; printf("MSC: Dataverse updates %d := %d\n", g, rop_val)
  fi
}

inline SendRemote() {
  atomic {
    if
    :: rop == CREATE && dv_ex[g] ->
       /* 409 on a GUID of ours: an earlier attempt went through; read back */
       res = R_OK; rv = dv_val[g]; rver = dv_ver[g]
    :: rop == UPDATE && dv_ver[g] != rop_exp -> res = R_CONFLICT   /* 412 */
    :: (rop == CREATE && !dv_ex[g]) || (rop == UPDATE && dv_ver[g] == rop_exp) ->
       if
       :: true -> ApplyToDataverse(); res = R_OK; rv = dv_val[g]; rver = dv_ver[g]
       :: FAULTY -> faults++; ApplyToDataverse(); res = R_TRANSIENT; printf("MSC: answer lost\n")      /* applied, answer lost */
       :: FAULTY && RESEND -> faults++; ApplyToDataverse();              /* applied, answer lost, */
          printf("MSC: answer lost, the transport resends\n");
          if                                                              /* the transport resends */
          :: rop == CREATE -> res = R_OK; rv = dv_val[g]; rver = dv_ver[g]
          :: else -> res = R_CONFLICT
          fi
       :: FAULTY -> faults++; res = R_TRANSIENT; printf("MSC: Dataverse fails before applying\n")  /* failed before applying */
       fi
    fi
  }
}

/* ApplyRemote */
inline ApplyRemote() {
  if
  :: res == R_OK ->
     if
     :: rop == CREATE -> cpl = 1; bl = 0; br = 0; clv = 0; crv = 0; crr = 0; intent_done = 1
     :: else -> skip
     fi;
     hr = 1; bl = lv; br = rv; crv = rver; dirty = 1
  :: res == R_CONFLICT ->
     printf("MSC: 412 from Dataverse: read again, decide again\n");
     /* R3: read it again and decide again */
     atomic { rv = dv_val[g]; rver = dv_ver[g]; hr = 1 }
     retry = 1
  :: res == R_TRANSIENT -> Fail(1)
  fi
}

/* The local connector: one transaction; a create with origin_id finds the row of an earlier attempt. */
inline SendLocal() {
  atomic {
    if
    :: lop == CREATE ->
       res = R_FOUND;   /* (the connector reports it as R_OK; see FIX_LOCAL_CREATE) */
       if
       :: lo_ex[1] && lo_org[1] == g -> x = 1
       :: !(lo_ex[1] && lo_org[1] == g) && lo_ex[2] && lo_org[2] == g -> x = 2
       :: !(lo_ex[1] && lo_org[1] == g) && !(lo_ex[2] && lo_org[2] == g) ->
          assert(lo_next < MAXK);
          x = lo_next; lo_next++;
          lo_ex[x] = 1; lo_val[x] = lop_val; lo_org[x] = g; lo_orgval[x] = lop_val; lo_seq++; lo_ver[x] = lo_seq;
          nlo++; printf("MSC: local create row %d = %d (origin %d)\n", x, lop_val, g); assert(nlo <= 1);  /* P1 */
          res = R_OK
       fi;
#ifndef FIX_LOCAL_CREATE
       res = R_OK;   /* a repeated create returns the existing row instead of a duplicate */
#endif
       k = x;
       lv = lo_val[x]; lver = lo_ver[x]   /* the row read back, as it is now */
    :: lop == UPDATE && lo_ver[k] > lop_exp -> res = R_CONFLICT
    :: lop == UPDATE && lo_ver[k] <= lop_exp ->
       lo_val[k] = lop_val; lo_seq++; lo_ver[k] = lo_seq; printf("MSC: local update row %d := %d\n", k, lop_val);
       res = R_OK; lv = lop_val; lver = lo_seq
    fi
  }
}

inline ApplyLocal() {
  if
  :: res == R_OK ->
     if
     :: lop == CREATE -> cpl = 1; bl = 0; br = 0; clv = 0; crv = 0; crl = 0
     :: else -> skip
     fi;
     hl = 1; bl = lv; br = (hr -> rv : br); clv = lver; dirty = 1
#ifdef FIX_LOCAL_CREATE
  :: res == R_FOUND ->
     /* couple it with the bases it was created from, and decide again */
     printf("MSC: the create found the row of an earlier attempt: decide again\n");
     cpl = 1; bl = lo_orgval[k]; br = lo_orgval[k]; clv = 0; crv = 0; crl = 0; hl = 1; dirty = 1;
     retry = 1
#endif
  :: res == R_CONFLICT ->
     printf("MSC: local row changed meanwhile: read again, decide again\n");
     atomic { lv = lo_val[k]; lver = lo_ver[k] }
     retry = 1
  fi
}

/* DecideAndWrite: up to kMaxRounds rounds; intents on record before each request. */
inline DecideAndWrite() {
  round = 0;
  do
  :: done -> break
  :: !done && round == 3 -> Fail(0); break   /* kConflict: kept changing */
  :: !done && round < 3 ->
     round++; retry = 0;
     Decide();
     if
     :: rop == NONE && lop == NONE -> done = 1
     :: else ->
        /* CommitIntents: R2, the GUID is on record before the request */
#ifndef BROKEN_SEND_BEFORE_INTENT
        if
        :: rop == CREATE -> atomic { in_ex = 1; in_key = k; in_guid = g; in_base = lv; printf("MSC: intent %d -> %d\n", k, g) }; CRASH
        :: else -> skip
        fi;
#endif
        /* CommitWriteIntents(remote) */
        if
        :: rop == UPDATE -> atomic { wr_ex = 1; wr_val = rop_val; wr_exp = rop_exp; printf("MSC: write intent remote %d\n", rop_val) }; wi = 1; CRASH
        :: else -> skip
        fi;
        if
        :: rop != NONE ->
           SendRemote();
           CRASH;
#ifdef BROKEN_SEND_BEFORE_INTENT
           if
           :: rop == CREATE -> atomic { in_ex = 1; in_key = k; in_guid = g; in_base = lv; printf("MSC: intent %d -> %d\n", k, g) }; CRASH
           :: else -> skip
           fi;
#endif
           ApplyRemote()
        :: else -> skip
        fi;
        /* local writes wait for the item's Dataverse write */
        if
        :: lop != NONE && !retry && !failed && !(done && lop != CREATE) ->
           if
           :: lop == UPDATE -> atomic { wl_ex = 1; wl_val = lop_val; wl_exp = lop_exp; printf("MSC: write intent local %d\n", lop_val) }; wi = 1; CRASH
           :: else -> skip
           fi;
           SendLocal();
           CRASH;
           ApplyLocal()
        :: else -> skip
        fi;
        if
        :: !retry -> done = 1
        :: else -> skip
        fi
     fi
  od
}

/* FinishItem: in step, each side's base is what it holds now. */
inline FinishItem() {
  if
  :: cpl && !failed && hl ->
     if :: lv != bl || (hr && rv != br) -> dirty = 1 :: else -> skip fi;
     bl = lv;
     if :: hr -> br = rv :: else -> skip fi;
     if :: lver != clv -> clv = lver; dirty = 1 :: else -> skip fi;
     if :: hr && rver != crv -> crv = rver; dirty = 1 :: else -> skip fi
  :: else -> skip
  fi
}

/* Commit: one state transaction after the writes (ApplyEffects + SetCursor). */
inline Commit(side, with_cursor) {
  atomic {
    if :: clear_fail && !failed -> fl_ex = 0 :: else -> skip fi;
    if
    :: cpl && dirty ->
       cp_ex = 1; cp_key = k; cp_guid = g; cp_bl = bl; cp_br = br; cp_lv = clv; cp_rv = crv
    :: else -> skip
    fi;
    if :: intent_done -> in_ex = 0 :: else -> skip fi;
    if :: wi && !failed -> wr_ex = 0; wl_ex = 0 :: else -> skip fi;
    if
    :: failed -> fl_ex = 1; fl_side = src; fl_key = (src == LOC -> k : g)
    :: else -> skip
    fi;
    if
    :: with_cursor && side == REM -> cur_r = nextc
    :: with_cursor && side == LOC -> cur_l = nextc
    :: else -> skip
    fi;
    printf("MSC: commit: coupling %d (%d<->%d base %d/%d) intent %d write intents %d/%d cursors %d/%d\n",
           cp_ex, cp_key, cp_guid, cp_bl, cp_br, in_ex, wr_ex, wl_ex, cur_r, cur_l)
  }
}

/* ---------------------------------------------------------------------- */
/* The engine. Its locals are the pass's memory, lost on a crash.          */

proctype Engine() {
  /* the item (MappingPass::Item) */
  byte k; byte g;            /* local key, Dataverse id */
  bool hl; byte lv; byte lver;   /* item.local: known, value, version */
  bool hr; byte rv; byte rver;   /* item.remote */
  byte org;                  /* item.local->origin_id */
  bool cpl; byte bl; byte br; byte clv; byte crv;   /* item.coupling */
  bool dirty; bool crr; bool crl; bool failed; bool retry; bool wi; bool done;
  bool intent_done; bool clear_fail; bit src; byte iguid;
  /* the ops Decide planned (at most one per side) */
  byte rop; byte rop_val; byte rop_exp;
  byte lop; byte lop_val; byte lop_exp;
  byte res; byte round; byte x; byte remote_now;
  byte tv; byte tver;
  bool lch; bool rch; bool incomplete; bool fullread; byte nextc;
  byte settle;

  byte ret;   /* where write_item returns to */
  goto restart;

  /* DecideAndWrite + FinishItem, written once (pan.c stays small): ret says where to go back */
write_item:
  DecideAndWrite();
  FinishItem();
  if
  :: ret == 1 -> goto back1
  :: ret == 2 -> goto back2
  :: ret == 3 -> goto back3
  :: ret == 4 -> goto back4
  fi;

restart:
  do
  :: true ->
     printf("MSC: pass\n");
     /* ---- one pass: MappingPass::Run ---- */

     /* RecoverIntents: every intent is read back by its GUID. */
#define RESET_ITEM \
     k = 0; g = 0; hl = 0; lv = 0; lver = 0; hr = 0; rv = 0; rver = 0; org = 0; \
     cpl = 0; bl = 0; br = 0; clv = 0; crv = 0; dirty = 0; crr = 0; crl = 0; \
     failed = 0; retry = 0; wi = 0; done = 0; intent_done = 0; clear_fail = 0; \
     src = LOC; iguid = 0; rop = NONE; lop = NONE; incomplete = 0
     RESET_ITEM;
     if
     :: in_ex ->
        atomic { g = in_guid; k = in_key; hr = dv_ex[g]; rv = dv_val[g]; rver = dv_ver[g] }
        if
        :: hr ->
           cpl = 1; bl = in_base;
#ifdef FIX_INTENT_BASE
           br = in_base;   /* what the create wrote, not what Dataverse holds now */
#else
           br = rv;        /* c.base_remote = CanonicalRemote(it->second.record) */
#endif
           crv = rver; clv = 0; dirty = 1; intent_done = 1;
#ifdef FIX_INTENT_BASE
           SettleWriteIntents();   /* writes of a pass that recovered it and crashed */
#endif
           atomic { hl = lo_ex[k]; lv = lo_val[k]; lver = lo_ver[k] }
           assert(hl);   /* no deletes in the model */
           ret = 1; goto write_item;
           back1:
           Commit(LOC, 0);
           CRASH
        :: else -> skip   /* never reached Dataverse: the create reuses this GUID */
        fi
     :: else -> skip
     fi;

     /* RecoverWriteIntents: did an update in flight go through? */
     RESET_ITEM;
     if
     :: (wr_ex || wl_ex) && cp_ex ->
        k = cp_key; g = cp_guid; bl = cp_bl; br = cp_br; clv = cp_lv; crv = cp_rv;
        SettleWriteIntents();
        atomic {
          wr_ex = 0; wl_ex = 0;
          if :: dirty -> cp_bl = bl; cp_br = br :: else -> skip fi;
#ifdef FIX_WRITE_INTENT
          cp_lv = clv; cp_rv = crv;
#endif
          printf("MSC: write intents settled: coupling base %d/%d\n", cp_bl, cp_br)
        }
        CRASH
     :: (wr_ex || wl_ex) && !cp_ex -> atomic { wr_ex = 0; wl_ex = 0 }; CRASH
     :: else -> skip
     fi;

     /* RetryParked: failures to retry are read again by key (epoch 0). */
     RESET_ITEM;
     if
     :: fl_ex ->
        clear_fail = 1; src = fl_side; fullread = 0;
        if
        :: fl_side == LOC ->
           k = fl_key;
           atomic { hl = lo_ex[k]; lv = lo_val[k]; lver = lo_ver[k]; org = lo_org[k] }
           assert(hl);
           PrepareLocal()
        :: else ->
           g = fl_key;
           atomic { hr = dv_ex[g]; rv = dv_val[g]; rver = dv_ver[g] }
           assert(hr);
           PrepareRemote()
        fi;
        ret = 2; goto write_item;
        back2:
        Commit(LOC, 0);
        CRASH
     :: else -> skip
     fi;

     /* ReadSide(remote): one page of changes after the cursor. */
     RESET_ITEM;
     src = REM;
     atomic {
       fullread = (cur_r == 0);
       DVREC(x);
       if
       :: x != 0 && dv_ver[x] >= cur_r -> g = x; hr = 1; rv = dv_val[x]; rver = dv_ver[x]
       :: else -> skip
       fi;
       nextc = dv_seq + 1
     }
#ifdef BROKEN_CURSOR_BEFORE_WRITES
     cur_r = nextc;
     CRASH;
#endif
     if
     :: hr -> PrepareRemote(); ret = 3; goto write_item; back3: skip
     :: else -> skip
     fi;
     Commit(REM, !incomplete);
     CRASH;
     if
     :: incomplete -> goto pass_end   /* the next pass resumes at this page */
     :: else -> skip
     fi;

     /* ReadSide(local): one page of the journal after the cursor. */
     RESET_ITEM;
     src = LOC;
     atomic {
       fullread = (cur_l == 0);
       LOREC(x);
       if
       :: x != 0 && lo_ver[x] >= cur_l -> k = x; hl = 1; lv = lo_val[x]; lver = lo_ver[x]; org = lo_org[x]
       :: else -> skip
       fi;
       nextc = lo_seq + 1
     }
#ifdef BROKEN_CURSOR_BEFORE_WRITES
     cur_l = nextc;
     CRASH;
#endif
     if
     :: hl -> PrepareLocal(); ret = 4; goto write_item; back4: skip
     :: else -> skip
     fi;
     Commit(LOC, !incomplete);
     CRASH;

pass_end:
     /* Between passes: once the user is done, faults may stop for good. */
     if
     :: calm -> settle++
     :: !calm && user_done -> calm = true
     :: true -> skip
     fi;
     if
     :: settle >= SETTLE -> break
     :: else -> skip
     fi
  od;

  /* P2: quiescent, after SETTLE calm passes. */
  DVREC(g); LOREC(k);
  assert(ndv == 1 && nlo == 1);
#ifndef NO_P2
  assert(dv_val[g] == last_val && lo_val[k] == last_val);
#endif
  assert(cp_ex && cp_key == k && cp_guid == g);
  assert(!in_ex && !wr_ex && !wl_ex)
}

init {
  atomic {
#if ORIGIN == 0
    lo_ex[1] = 1; lo_val[1] = 1; lo_seq = 1; lo_ver[1] = 1; lo_next = 2; nlo = 1;
#else
    dv_ex[1] = 1; dv_val[1] = 1; dv_seq = 1; dv_ver[1] = 1; next_guid = 2; ndv = 1;
#endif
    run User();
    run Engine()
  }
}
