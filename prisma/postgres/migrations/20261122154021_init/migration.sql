-- CreateTable
CREATE TABLE "Image" (
    "key" TEXT NOT NULL,
    "objectName" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Image_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "CacheConfig" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "capacityMb" INTEGER NOT NULL DEFAULT 64,
    "policy" TEXT NOT NULL DEFAULT 'LRU',
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CacheConfig_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolNode" (
    "id" TEXT NOT NULL,
    "instanceId" TEXT,
    "address" TEXT,
    "state" TEXT NOT NULL,
    "since" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PoolNode_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolState" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" INTEGER NOT NULL DEFAULT 0,
    "lockHolder" TEXT,
    "lockExpiresAt" TIMESTAMP(3),

    CONSTRAINT "PoolState_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScalerPolicy" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "mode" TEXT NOT NULL DEFAULT 'manual',
    "maxMissRate" DOUBLE PRECISION NOT NULL DEFAULT 0.8,
    "minMissRate" DOUBLE PRECISION NOT NULL DEFAULT 0.2,
    "expandRatio" DOUBLE PRECISION NOT NULL DEFAULT 2.0,
    "shrinkRatio" DOUBLE PRECISION NOT NULL DEFAULT 0.5,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ScalerPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScalingEvent" (
    "id" SERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "fromNodes" INTEGER NOT NULL,
    "toNodes" INTEGER NOT NULL,
    "missRate" DOUBLE PRECISION,
    "lookups" INTEGER,
    "maxMiss" DOUBLE PRECISION,
    "minMiss" DOUBLE PRECISION,
    "reason" TEXT NOT NULL,

    CONSTRAINT "ScalingEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricSample" (
    "id" SERIAL NOT NULL,
    "nodeId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "lookups" INTEGER NOT NULL,
    "hits" INTEGER NOT NULL,
    "misses" INTEGER NOT NULL,
    "puts" INTEGER NOT NULL,
    "requests" INTEGER NOT NULL,
    "evictions" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "items" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL,

    CONSTRAINT "MetricSample_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Image_objectName_key" ON "Image"("objectName");

-- CreateIndex
CREATE INDEX "ScalingEvent_at_idx" ON "ScalingEvent"("at");

-- CreateIndex
CREATE INDEX "MetricSample_at_idx" ON "MetricSample"("at");

-- CreateIndex
CREATE INDEX "MetricSample_nodeId_at_idx" ON "MetricSample"("nodeId", "at");

