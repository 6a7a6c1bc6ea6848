-- CreateTable
CREATE TABLE "Image" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "objectName" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "CacheConfig" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "capacityMb" INTEGER NOT NULL DEFAULT 64,
    "policy" TEXT NOT NULL DEFAULT 'LRU',
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PoolNode" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "instanceId" TEXT,
    "address" TEXT,
    "state" TEXT NOT NULL,
    "since" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "PoolState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "version" INTEGER NOT NULL DEFAULT 0,
    "lockHolder" TEXT,
    "lockExpiresAt" DATETIME
);

-- CreateTable
CREATE TABLE "ScalerPolicy" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "mode" TEXT NOT NULL DEFAULT 'manual',
    "maxMissRate" REAL NOT NULL DEFAULT 0.8,
    "minMissRate" REAL NOT NULL DEFAULT 0.2,
    "expandRatio" REAL NOT NULL DEFAULT 2.0,
    "shrinkRatio" REAL NOT NULL DEFAULT 0.5,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ScalingEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "fromNodes" INTEGER NOT NULL,
    "toNodes" INTEGER NOT NULL,
    "missRate" REAL,
    "lookups" INTEGER,
    "maxMiss" REAL,
    "minMiss" REAL,
    "reason" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "MetricSample" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "nodeId" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "lookups" INTEGER NOT NULL,
    "hits" INTEGER NOT NULL,
    "misses" INTEGER NOT NULL,
    "puts" INTEGER NOT NULL,
    "requests" INTEGER NOT NULL,
    "evictions" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "items" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Image_objectName_key" ON "Image"("objectName");

-- CreateIndex
CREATE INDEX "ScalingEvent_at_idx" ON "ScalingEvent"("at");

-- CreateIndex
CREATE INDEX "MetricSample_at_idx" ON "MetricSample"("at");

-- CreateIndex
CREATE INDEX "MetricSample_nodeId_at_idx" ON "MetricSample"("nodeId", "at");

