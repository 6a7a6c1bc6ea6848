-- CreateTable
CREATE TABLE "WorkerPolicy" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "mode" TEXT NOT NULL DEFAULT 'manual',
    "growCpu" REAL NOT NULL DEFAULT 0.7,
    "shrinkCpu" REAL NOT NULL DEFAULT 0.2,
    "growRatio" REAL NOT NULL DEFAULT 1.5,
    "shrinkRatio" REAL NOT NULL DEFAULT 0.5,
    "cooldownS" INTEGER NOT NULL DEFAULT 300,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "WorkerSample" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "workerId" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "cpu" REAL NOT NULL,
    "requests" INTEGER NOT NULL,
    "bytesIn" BIGINT NOT NULL,
    "bytesOut" BIGINT NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_PoolNode" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pool" TEXT NOT NULL DEFAULT 'cache',
    "instanceId" TEXT,
    "address" TEXT,
    "state" TEXT NOT NULL,
    "leaving" BOOLEAN NOT NULL DEFAULT false,
    "since" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_PoolNode" ("address", "id", "instanceId", "leaving", "since", "state", "updatedAt") SELECT "address", "id", "instanceId", "leaving", "since", "state", "updatedAt" FROM "PoolNode";
DROP TABLE "PoolNode";
ALTER TABLE "new_PoolNode" RENAME TO "PoolNode";
CREATE INDEX "PoolNode_pool_idx" ON "PoolNode"("pool");
CREATE TABLE "new_ScalingEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "pool" TEXT NOT NULL DEFAULT 'cache',
    "actor" TEXT NOT NULL,
    "fromNodes" INTEGER NOT NULL,
    "toNodes" INTEGER NOT NULL,
    "missRate" REAL,
    "lookups" INTEGER,
    "maxMiss" REAL,
    "minMiss" REAL,
    "cpu" REAL,
    "growCpu" REAL,
    "shrinkCpu" REAL,
    "reason" TEXT NOT NULL
);
INSERT INTO "new_ScalingEvent" ("actor", "at", "fromNodes", "id", "lookups", "maxMiss", "minMiss", "missRate", "reason", "toNodes") SELECT "actor", "at", "fromNodes", "id", "lookups", "maxMiss", "minMiss", "missRate", "reason", "toNodes" FROM "ScalingEvent";
DROP TABLE "ScalingEvent";
ALTER TABLE "new_ScalingEvent" RENAME TO "ScalingEvent";
CREATE INDEX "ScalingEvent_at_idx" ON "ScalingEvent"("at");
CREATE INDEX "ScalingEvent_pool_at_idx" ON "ScalingEvent"("pool", "at");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "WorkerSample_at_idx" ON "WorkerSample"("at");

-- CreateIndex
CREATE INDEX "WorkerSample_workerId_at_idx" ON "WorkerSample"("workerId", "at");

