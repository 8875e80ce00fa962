/* eslint-disable require-yield */
import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var TreeEnvelope;
(function (TreeEnvelope) {
    let _codec;
    TreeEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.detached != null) {
                    obj.error = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.detach != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.fundingReply != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.funding != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.reportAck != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.report != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.attached = undefined;
                    obj.attach = undefined;
                }
                if (obj.attached != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attach = undefined;
                }
                if (obj.attach != null) {
                    obj.error = undefined;
                    obj.detached = undefined;
                    obj.detach = undefined;
                    obj.fundingReply = undefined;
                    obj.funding = undefined;
                    obj.reportAck = undefined;
                    obj.report = undefined;
                    obj.attached = undefined;
                }
                if (obj.attach != null) {
                    w.uint32(10);
                    TreeAttach.codec().encode(obj.attach, w);
                }
                if (obj.attached != null) {
                    w.uint32(18);
                    TreeAttached.codec().encode(obj.attached, w);
                }
                if (obj.report != null) {
                    w.uint32(26);
                    TreeReport.codec().encode(obj.report, w);
                }
                if (obj.reportAck != null) {
                    w.uint32(34);
                    TreeReportAck.codec().encode(obj.reportAck, w);
                }
                if (obj.funding != null) {
                    w.uint32(42);
                    TreeFunding.codec().encode(obj.funding, w);
                }
                if (obj.fundingReply != null) {
                    w.uint32(50);
                    TreeFundingReply.codec().encode(obj.fundingReply, w);
                }
                if (obj.detach != null) {
                    w.uint32(58);
                    TreeDetach.codec().encode(obj.detach, w);
                }
                if (obj.detached != null) {
                    w.uint32(66);
                    TreeDetached.codec().encode(obj.detached, w);
                }
                if (obj.error != null) {
                    w.uint32(74);
                    TreeError.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.attach = TreeAttach.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.attach
                            });
                            break;
                        }
                        case 2: {
                            obj.attached = TreeAttached.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.attached
                            });
                            break;
                        }
                        case 3: {
                            obj.report = TreeReport.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.report
                            });
                            break;
                        }
                        case 4: {
                            obj.reportAck = TreeReportAck.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.reportAck
                            });
                            break;
                        }
                        case 5: {
                            obj.funding = TreeFunding.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.funding
                            });
                            break;
                        }
                        case 6: {
                            obj.fundingReply = TreeFundingReply.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.fundingReply
                            });
                            break;
                        }
                        case 7: {
                            obj.detach = TreeDetach.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.detach
                            });
                            break;
                        }
                        case 8: {
                            obj.detached = TreeDetached.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.detached
                            });
                            break;
                        }
                        case 9: {
                            obj.error = TreeError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.error != null) {
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.detached != null) {
                    delete obj.error;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.detach != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.fundingReply != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.funding != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.reportAck != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.report;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.report != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.attached;
                    delete obj.attach;
                }
                if (obj.attached != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attach;
                }
                if (obj.attach != null) {
                    delete obj.error;
                    delete obj.detached;
                    delete obj.detach;
                    delete obj.fundingReply;
                    delete obj.funding;
                    delete obj.reportAck;
                    delete obj.report;
                    delete obj.attached;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeAttach.codec().stream(reader, reader.uint32(), `${prefix}.attach`, {
                                limits: opts.limits?.attach
                            });
                            break;
                        }
                        case 2: {
                            yield* TreeAttached.codec().stream(reader, reader.uint32(), `${prefix}.attached`, {
                                limits: opts.limits?.attached
                            });
                            break;
                        }
                        case 3: {
                            yield* TreeReport.codec().stream(reader, reader.uint32(), `${prefix}.report`, {
                                limits: opts.limits?.report
                            });
                            break;
                        }
                        case 4: {
                            yield* TreeReportAck.codec().stream(reader, reader.uint32(), `${prefix}.reportAck`, {
                                limits: opts.limits?.reportAck
                            });
                            break;
                        }
                        case 5: {
                            yield* TreeFunding.codec().stream(reader, reader.uint32(), `${prefix}.funding`, {
                                limits: opts.limits?.funding
                            });
                            break;
                        }
                        case 6: {
                            yield* TreeFundingReply.codec().stream(reader, reader.uint32(), `${prefix}.fundingReply`, {
                                limits: opts.limits?.fundingReply
                            });
                            break;
                        }
                        case 7: {
                            yield* TreeDetach.codec().stream(reader, reader.uint32(), `${prefix}.detach`, {
                                limits: opts.limits?.detach
                            });
                            break;
                        }
                        case 8: {
                            yield* TreeDetached.codec().stream(reader, reader.uint32(), `${prefix}.detached`, {
                                limits: opts.limits?.detached
                            });
                            break;
                        }
                        case 9: {
                            yield* TreeError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeEnvelope.codec());
    }
    TreeEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeEnvelope.codec(), opts);
    }
    TreeEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeEnvelope.codec(), opts);
    }
    TreeEnvelope.stream = stream;
})(TreeEnvelope || (TreeEnvelope = {}));
export var TreeMemberProof;
(function (TreeMemberProof) {
    let _codec;
    TreeMemberProof.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.account != null && obj.account !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.account);
                }
                if ((obj.expires != null && obj.expires !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.expires);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    account: 0n,
                    expires: 0n,
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.account = reader.uint64();
                            break;
                        }
                        case 2: {
                            obj.expires = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.signature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.account`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.expires`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.signature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeMemberProof.codec());
    }
    TreeMemberProof.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeMemberProof.codec(), opts);
    }
    TreeMemberProof.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeMemberProof.codec(), opts);
    }
    TreeMemberProof.stream = stream;
})(TreeMemberProof || (TreeMemberProof = {}));
export var TreeNode;
(function (TreeNode) {
    let _codec;
    TreeNode.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.account != null && obj.account !== 0n)) {
                    w.uint32(8);
                    writeUint64(w, obj.account);
                }
                if (obj.addrs != null && obj.addrs.length > 0) {
                    for (const value of obj.addrs) {
                        w.uint32(18);
                        w.string(value);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    account: 0n,
                    addrs: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.account = reader.uint64();
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                            }
                            obj.addrs.push(readStrictString(reader));
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    addrs: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.account`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements');
                            }
                            yield {
                                field: `${prefix}.addrs[]`,
                                index: obj.addrs,
                                value: readStrictString(reader)
                            };
                            obj.addrs++;
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeNode.codec());
    }
    TreeNode.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeNode.codec(), opts);
    }
    TreeNode.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeNode.codec(), opts);
    }
    TreeNode.stream = stream;
})(TreeNode || (TreeNode = {}));
export var TreePolicy;
(function (TreePolicy) {
    let _codec;
    TreePolicy.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.version != null && obj.version !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.version);
                }
                if ((obj.weightBps != null && obj.weightBps !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.weightBps);
                }
                if ((obj.migrateThresholdBps != null && obj.migrateThresholdBps !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.migrateThresholdBps);
                }
                if ((obj.replicateThresholdBps != null && obj.replicateThresholdBps !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.replicateThresholdBps);
                }
                if ((obj.terminateThresholdBps != null && obj.terminateThresholdBps !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.terminateThresholdBps);
                }
                if ((obj.maxPricePerSecond != null && obj.maxPricePerSecond.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.maxPricePerSecond);
                }
                if ((obj.maxRelayFee != null && obj.maxRelayFee.byteLength > 0)) {
                    w.uint32(58);
                    w.bytes(obj.maxRelayFee);
                }
                if ((obj.relayAllowancePerDay != null && obj.relayAllowancePerDay.byteLength > 0)) {
                    w.uint32(66);
                    w.bytes(obj.relayAllowancePerDay);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    version: 0,
                    weightBps: 0,
                    migrateThresholdBps: 0,
                    replicateThresholdBps: 0,
                    terminateThresholdBps: 0,
                    maxPricePerSecond: uint8ArrayAlloc(0),
                    maxRelayFee: uint8ArrayAlloc(0),
                    relayAllowancePerDay: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.version = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.weightBps = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.migrateThresholdBps = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.replicateThresholdBps = reader.uint32();
                            break;
                        }
                        case 5: {
                            obj.terminateThresholdBps = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.maxPricePerSecond = reader.bytes();
                            break;
                        }
                        case 7: {
                            obj.maxRelayFee = reader.bytes();
                            break;
                        }
                        case 8: {
                            obj.relayAllowancePerDay = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.version`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.weightBps`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.migrateThresholdBps`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.replicateThresholdBps`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.terminateThresholdBps`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.maxPricePerSecond`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.maxRelayFee`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.relayAllowancePerDay`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreePolicy.codec());
    }
    TreePolicy.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreePolicy.codec(), opts);
    }
    TreePolicy.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreePolicy.codec(), opts);
    }
    TreePolicy.stream = stream;
})(TreePolicy || (TreePolicy = {}));
export var TreeAttach;
(function (TreeAttach) {
    let _codec;
    TreeAttach.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.proof != null) {
                    w.uint32(10);
                    TreeMemberProof.codec().encode(obj.proof, w);
                }
                if (obj.addrs != null && obj.addrs.length > 0) {
                    for (const value of obj.addrs) {
                        w.uint32(18);
                        w.string(value);
                    }
                }
                if ((obj.endpoint != null && obj.endpoint !== '')) {
                    w.uint32(26);
                    w.string(obj.endpoint);
                }
                if ((obj.location != null && obj.location !== '')) {
                    w.uint32(34);
                    w.string(obj.location);
                }
                if ((obj.epoch != null && obj.epoch !== 0n)) {
                    w.uint32(40);
                    writeUint64(w, obj.epoch);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    addrs: [],
                    endpoint: '',
                    location: '',
                    epoch: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.proof = TreeMemberProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                            }
                            obj.addrs.push(readStrictString(reader));
                            break;
                        }
                        case 3: {
                            obj.endpoint = readStrictString(reader);
                            break;
                        }
                        case 4: {
                            obj.location = readStrictString(reader);
                            break;
                        }
                        case 5: {
                            obj.epoch = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    addrs: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeMemberProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements');
                            }
                            yield {
                                field: `${prefix}.addrs[]`,
                                index: obj.addrs,
                                value: readStrictString(reader)
                            };
                            obj.addrs++;
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.endpoint`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.location`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.epoch`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeAttach.codec());
    }
    TreeAttach.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeAttach.codec(), opts);
    }
    TreeAttach.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeAttach.codec(), opts);
    }
    TreeAttach.stream = stream;
})(TreeAttach || (TreeAttach = {}));
export var TreeAttached;
(function (TreeAttached) {
    let _codec;
    TreeAttached.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.parent != null) {
                    w.uint32(10);
                    TreeNode.codec().encode(obj.parent, w);
                }
                if (obj.origin != null) {
                    w.uint32(18);
                    TreeNode.codec().encode(obj.origin, w);
                }
                if (obj.ancestors != null && obj.ancestors.length > 0) {
                    for (const value of obj.ancestors) {
                        w.uint32(26);
                        TreeNode.codec().encode(value, w);
                    }
                }
                if (obj.policy != null) {
                    w.uint32(34);
                    TreePolicy.codec().encode(obj.policy, w);
                }
                if (obj.proof != null) {
                    w.uint32(42);
                    TreeMemberProof.codec().encode(obj.proof, w);
                }
                if (obj.place != null) {
                    w.uint32(50);
                    TreePlace.codec().encode(obj.place, w);
                }
                if (obj.successor != null) {
                    w.uint32(82);
                    TreeNode.codec().encode(obj.successor, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    ancestors: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.parent = TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.parent
                            });
                            break;
                        }
                        case 2: {
                            obj.origin = TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.origin
                            });
                            break;
                        }
                        case 3: {
                            if (opts.limits?.ancestors != null && obj.ancestors.length === opts.limits.ancestors) {
                                throw new MaxLengthError('Decode error - repeated field "ancestors" had too many elements');
                            }
                            obj.ancestors.push(TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.ancestors$
                            }));
                            break;
                        }
                        case 4: {
                            obj.policy = TreePolicy.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.policy
                            });
                            break;
                        }
                        case 5: {
                            obj.proof = TreeMemberProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 6: {
                            obj.place = TreePlace.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.place
                            });
                            break;
                        }
                        case 10: {
                            obj.successor = TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.successor
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    ancestors: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.parent`, {
                                limits: opts.limits?.parent
                            });
                            break;
                        }
                        case 2: {
                            yield* TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.origin`, {
                                limits: opts.limits?.origin
                            });
                            break;
                        }
                        case 3: {
                            if (opts.limits?.ancestors != null && obj.ancestors === opts.limits.ancestors) {
                                throw new MaxLengthError('Streaming decode error - repeated field "ancestors" had too many elements');
                            }
                            for (const evt of TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.ancestors[]`, {
                                limits: opts.limits?.ancestors$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.ancestors
                                };
                            }
                            obj.ancestors++;
                            break;
                        }
                        case 4: {
                            yield* TreePolicy.codec().stream(reader, reader.uint32(), `${prefix}.policy`, {
                                limits: opts.limits?.policy
                            });
                            break;
                        }
                        case 5: {
                            yield* TreeMemberProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 6: {
                            yield* TreePlace.codec().stream(reader, reader.uint32(), `${prefix}.place`, {
                                limits: opts.limits?.place
                            });
                            break;
                        }
                        case 10: {
                            yield* TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.successor`, {
                                limits: opts.limits?.successor
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeAttached.codec());
    }
    TreeAttached.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeAttached.codec(), opts);
    }
    TreeAttached.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeAttached.codec(), opts);
    }
    TreeAttached.stream = stream;
})(TreeAttached || (TreeAttached = {}));
export var TreePlace;
(function (TreePlace) {
    let _codec;
    TreePlace.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.endpoint != null && obj.endpoint !== '')) {
                    w.uint32(10);
                    w.string(obj.endpoint);
                }
                if ((obj.location != null && obj.location !== '')) {
                    w.uint32(18);
                    w.string(obj.location);
                }
                if ((obj.instanceId != null && obj.instanceId !== 0n)) {
                    w.uint32(24);
                    writeUint64(w, obj.instanceId);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    endpoint: '',
                    location: '',
                    instanceId: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.endpoint = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.location = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.instanceId = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.endpoint`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.location`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.instanceId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreePlace.codec());
    }
    TreePlace.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreePlace.codec(), opts);
    }
    TreePlace.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreePlace.codec(), opts);
    }
    TreePlace.stream = stream;
})(TreePlace || (TreePlace = {}));
export var TreeSubnet;
(function (TreeSubnet) {
    let _codec;
    TreeSubnet.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.subnet != null && obj.subnet !== '')) {
                    w.uint32(10);
                    w.string(obj.subnet);
                }
                if ((obj.rate != null && obj.rate !== 0)) {
                    w.uint32(17);
                    w.double(obj.rate);
                }
                if (obj.latencyMs != null) {
                    w.uint32(25);
                    w.double(obj.latencyMs);
                }
                if ((obj.requests != null && obj.requests !== 0n)) {
                    w.uint32(32);
                    writeUint64(w, obj.requests);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnet: '',
                    rate: 0,
                    requests: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.subnet = readStrictString(reader);
                            break;
                        }
                        case 2: {
                            obj.rate = reader.double();
                            break;
                        }
                        case 3: {
                            obj.latencyMs = reader.double();
                            break;
                        }
                        case 4: {
                            obj.requests = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.subnet`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.rate`,
                                value: reader.double()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.latencyMs`,
                                value: reader.double()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.requests`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeSubnet.codec());
    }
    TreeSubnet.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeSubnet.codec(), opts);
    }
    TreeSubnet.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeSubnet.codec(), opts);
    }
    TreeSubnet.stream = stream;
})(TreeSubnet || (TreeSubnet = {}));
export var TreeReport;
(function (TreeReport) {
    let _codec;
    TreeReport.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.proof != null) {
                    w.uint32(10);
                    TreeMemberProof.codec().encode(obj.proof, w);
                }
                if (obj.subnets != null && obj.subnets.length > 0) {
                    for (const value of obj.subnets) {
                        w.uint32(18);
                        TreeSubnet.codec().encode(value, w);
                    }
                }
                if ((obj.endpoint != null && obj.endpoint !== '')) {
                    w.uint32(26);
                    w.string(obj.endpoint);
                }
                if ((obj.location != null && obj.location !== '')) {
                    w.uint32(34);
                    w.string(obj.location);
                }
                if ((obj.descendants != null && obj.descendants !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.descendants);
                }
                if ((obj.epoch != null && obj.epoch !== 0n)) {
                    w.uint32(48);
                    writeUint64(w, obj.epoch);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    subnets: [],
                    endpoint: '',
                    location: '',
                    descendants: 0,
                    epoch: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.proof = TreeMemberProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.subnets != null && obj.subnets.length === opts.limits.subnets) {
                                throw new MaxLengthError('Decode error - repeated field "subnets" had too many elements');
                            }
                            obj.subnets.push(TreeSubnet.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.subnets$
                            }));
                            break;
                        }
                        case 3: {
                            obj.endpoint = readStrictString(reader);
                            break;
                        }
                        case 4: {
                            obj.location = readStrictString(reader);
                            break;
                        }
                        case 5: {
                            obj.descendants = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.epoch = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    subnets: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeMemberProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.subnets != null && obj.subnets === opts.limits.subnets) {
                                throw new MaxLengthError('Streaming decode error - repeated field "subnets" had too many elements');
                            }
                            for (const evt of TreeSubnet.codec().stream(reader, reader.uint32(), `${prefix}.subnets[]`, {
                                limits: opts.limits?.subnets$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.subnets
                                };
                            }
                            obj.subnets++;
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.endpoint`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.location`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.descendants`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.epoch`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeReport.codec());
    }
    TreeReport.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeReport.codec(), opts);
    }
    TreeReport.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeReport.codec(), opts);
    }
    TreeReport.stream = stream;
})(TreeReport || (TreeReport = {}));
export var TreeReportAck;
(function (TreeReportAck) {
    let _codec;
    TreeReportAck.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.policy != null) {
                    w.uint32(10);
                    TreePolicy.codec().encode(obj.policy, w);
                }
                if (obj.ancestors != null && obj.ancestors.length > 0) {
                    for (const value of obj.ancestors) {
                        w.uint32(18);
                        TreeNode.codec().encode(value, w);
                    }
                }
                if (obj.place != null) {
                    w.uint32(26);
                    TreePlace.codec().encode(obj.place, w);
                }
                if (obj.successor != null) {
                    w.uint32(82);
                    TreeNode.codec().encode(obj.successor, w);
                }
                if (obj.appRate != null) {
                    w.uint32(89);
                    w.double(obj.appRate);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    ancestors: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.policy = TreePolicy.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.policy
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.ancestors != null && obj.ancestors.length === opts.limits.ancestors) {
                                throw new MaxLengthError('Decode error - repeated field "ancestors" had too many elements');
                            }
                            obj.ancestors.push(TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.ancestors$
                            }));
                            break;
                        }
                        case 3: {
                            obj.place = TreePlace.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.place
                            });
                            break;
                        }
                        case 10: {
                            obj.successor = TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.successor
                            });
                            break;
                        }
                        case 11: {
                            obj.appRate = reader.double();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    ancestors: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreePolicy.codec().stream(reader, reader.uint32(), `${prefix}.policy`, {
                                limits: opts.limits?.policy
                            });
                            break;
                        }
                        case 2: {
                            if (opts.limits?.ancestors != null && obj.ancestors === opts.limits.ancestors) {
                                throw new MaxLengthError('Streaming decode error - repeated field "ancestors" had too many elements');
                            }
                            for (const evt of TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.ancestors[]`, {
                                limits: opts.limits?.ancestors$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.ancestors
                                };
                            }
                            obj.ancestors++;
                            break;
                        }
                        case 3: {
                            yield* TreePlace.codec().stream(reader, reader.uint32(), `${prefix}.place`, {
                                limits: opts.limits?.place
                            });
                            break;
                        }
                        case 10: {
                            yield* TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.successor`, {
                                limits: opts.limits?.successor
                            });
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.appRate`,
                                value: reader.double()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeReportAck.codec());
    }
    TreeReportAck.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeReportAck.codec(), opts);
    }
    TreeReportAck.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeReportAck.codec(), opts);
    }
    TreeReportAck.stream = stream;
})(TreeReportAck || (TreeReportAck = {}));
export var TreeFunding;
(function (TreeFunding) {
    let _codec;
    TreeFunding.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.proof != null) {
                    w.uint32(10);
                    TreeMemberProof.codec().encode(obj.proof, w);
                }
                if ((obj.amount != null && obj.amount.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.amount);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    amount: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.proof = TreeMemberProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            obj.amount = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeMemberProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.amount`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeFunding.codec());
    }
    TreeFunding.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeFunding.codec(), opts);
    }
    TreeFunding.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeFunding.codec(), opts);
    }
    TreeFunding.stream = stream;
})(TreeFunding || (TreeFunding = {}));
export var TreeFundingReply;
(function (TreeFundingReply) {
    let _codec;
    TreeFundingReply.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.granted != null && obj.granted.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.granted);
                }
                if ((obj.note != null && obj.note !== '')) {
                    w.uint32(18);
                    w.string(obj.note);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    granted: uint8ArrayAlloc(0),
                    note: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.granted = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.note = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.granted`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.note`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeFundingReply.codec());
    }
    TreeFundingReply.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeFundingReply.codec(), opts);
    }
    TreeFundingReply.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeFundingReply.codec(), opts);
    }
    TreeFundingReply.stream = stream;
})(TreeFundingReply || (TreeFundingReply = {}));
export var TreeDetach;
(function (TreeDetach) {
    let _codec;
    TreeDetach.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.proof != null) {
                    w.uint32(10);
                    TreeMemberProof.codec().encode(obj.proof, w);
                }
                if (obj.newParent != null) {
                    w.uint32(18);
                    TreeNode.codec().encode(obj.newParent, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.proof = TreeMemberProof.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            obj.newParent = TreeNode.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.newParent
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TreeMemberProof.codec().stream(reader, reader.uint32(), `${prefix}.proof`, {
                                limits: opts.limits?.proof
                            });
                            break;
                        }
                        case 2: {
                            yield* TreeNode.codec().stream(reader, reader.uint32(), `${prefix}.newParent`, {
                                limits: opts.limits?.newParent
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeDetach.codec());
    }
    TreeDetach.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeDetach.codec(), opts);
    }
    TreeDetach.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeDetach.codec(), opts);
    }
    TreeDetach.stream = stream;
})(TreeDetach || (TreeDetach = {}));
export var TreeDetached;
(function (TreeDetached) {
    let _codec;
    TreeDetached.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeDetached.codec());
    }
    TreeDetached.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeDetached.codec(), opts);
    }
    TreeDetached.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeDetached.codec(), opts);
    }
    TreeDetached.stream = stream;
})(TreeDetached || (TreeDetached = {}));
export var TreeErrorCode;
(function (TreeErrorCode) {
    TreeErrorCode["TREE_ERROR_UNSPECIFIED"] = "TREE_ERROR_UNSPECIFIED";
    TreeErrorCode["TREE_BAD_FRAME"] = "TREE_BAD_FRAME";
    TreeErrorCode["TREE_BAD_PROOF"] = "TREE_BAD_PROOF";
    TreeErrorCode["TREE_PROOF_EXPIRED"] = "TREE_PROOF_EXPIRED";
    TreeErrorCode["TREE_NOT_DESCENDANT"] = "TREE_NOT_DESCENDANT";
    TreeErrorCode["TREE_NOT_ATTACHED"] = "TREE_NOT_ATTACHED";
    TreeErrorCode["TREE_NOT_CHILD"] = "TREE_NOT_CHILD";
    TreeErrorCode["TREE_LEAVING"] = "TREE_LEAVING";
    TreeErrorCode["TREE_INTERNAL"] = "TREE_INTERNAL";
    TreeErrorCode["TREE_STALE_EPOCH"] = "TREE_STALE_EPOCH";
})(TreeErrorCode || (TreeErrorCode = {}));
var __TreeErrorCodeValues;
(function (__TreeErrorCodeValues) {
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_ERROR_UNSPECIFIED"] = 0] = "TREE_ERROR_UNSPECIFIED";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_BAD_FRAME"] = 1] = "TREE_BAD_FRAME";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_BAD_PROOF"] = 2] = "TREE_BAD_PROOF";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_PROOF_EXPIRED"] = 3] = "TREE_PROOF_EXPIRED";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_NOT_DESCENDANT"] = 4] = "TREE_NOT_DESCENDANT";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_NOT_ATTACHED"] = 5] = "TREE_NOT_ATTACHED";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_NOT_CHILD"] = 6] = "TREE_NOT_CHILD";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_LEAVING"] = 7] = "TREE_LEAVING";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_INTERNAL"] = 8] = "TREE_INTERNAL";
    __TreeErrorCodeValues[__TreeErrorCodeValues["TREE_STALE_EPOCH"] = 9] = "TREE_STALE_EPOCH";
})(__TreeErrorCodeValues || (__TreeErrorCodeValues = {}));
(function (TreeErrorCode) {
    TreeErrorCode.codec = () => {
        return enumeration(__TreeErrorCodeValues);
    };
})(TreeErrorCode || (TreeErrorCode = {}));
export var TreeError;
(function (TreeError) {
    let _codec;
    TreeError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __TreeErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    TreeErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: TreeErrorCode.TREE_ERROR_UNSPECIFIED,
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = TreeErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.code`,
                                value: TreeErrorCode.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TreeError.codec());
    }
    TreeError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TreeError.codec(), opts);
    }
    TreeError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TreeError.codec(), opts);
    }
    TreeError.stream = stream;
})(TreeError || (TreeError = {}));
/** Strict UTF-8 for string fields (see scripts/generate.ts). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function readStrictString(reader) {
    return strictUtf8.decode(reader.bytes());
}
/** Workaround for protons-runtime's uint64 writer (see scripts/generate.ts). */
function writeUint64(w, v) {
    if (v <= 9007199254740991n)
        w.uint64Number(Number(v));
    else
        w.uint64(v);
}
