/* netpol-guard connectivity page: draws the embedded ConnectivityReport with cytoscape + dagre.
   Everything it needs is in this file; all text from the document goes through textContent. */
(function () {
  'use strict';
  var doc = JSON.parse(document.getElementById('netpol-doc').textContent);
  var view = JSON.parse(document.getElementById('netpol-view').textContent);
  var FONT = '"Helvetica Neue", Helvetica, Arial, sans-serif';
  // Past this many edges the picture is a thicket: no labels until a workload is clicked, straight
  // thin edges, and dagre's own edge routes (which wander badly in dense graphs) are not used.
  var DENSE = doc.connections.length > 80;

  // Node boxes are as wide as their longest label line, measured in the font they are drawn in.
  var ctx = document.createElement('canvas').getContext('2d');
  function textWidth(text, px) {
    ctx.font = px + 'px ' + FONT;
    return ctx.measureText(text).width;
  }

  var groupId = {};
  var elements = [];
  view.groups.forEach(function (g, i) {
    groupId[g] = 'group:' + i;  // ':' cannot occur in a workload id or namespace name
    elements.push({ data: { id: groupId[g], label: g === view.externalGroup ? g : 'namespace ' + g, ns: g },
                    classes: g === view.externalGroup ? 'group external-group' : 'group' });
  });
  var exposed = {};
  ((doc.exposure && doc.exposure.fromOutside) || []).forEach(function (id) { exposed[id] = true; });
  view.nodes.forEach(function (n) {
    var w = Math.max(textWidth(n.title, 12), textWidth(n.subtitle, 10)) + 22;
    elements.push({ data: { id: n.id, parent: groupId[n.group], ns: n.group, title: n.title,
                            label: n.title + '\n' + n.subtitle, detail: n.detail, w: Math.max(w, 60) },
                    classes: (n.external ? 'external' : 'workload') + (exposed[n.id] ? ' exposed' : '') });
  });
  doc.connections.forEach(function (c, i) {
    elements.push({ data: { id: 'edge:' + i, source: c.src, target: c.dst, label: c.conns },
                    classes: (c.all ? 'all' : 'ports') + (DENSE ? ' dense' : '') });
  });

  var style = [
    { selector: 'node', style: { 'font-family': FONT, 'label': 'data(label)', 'text-wrap': 'wrap',
      'text-valign': 'center', 'text-halign': 'center', 'font-size': 12, 'color': '#0f172a',
      'shape': 'round-rectangle', 'width': 'data(w)', 'height': 40, 'border-width': 1.5,
      'background-color': '#dbeafe', 'border-color': '#3b82f6' } },
    { selector: 'node.external', style: { 'background-color': '#fde7c8', 'border-color': '#d97706',
      'border-style': 'dashed', 'shape': 'rectangle' } },
    { selector: 'node.exposed', style: { 'border-color': '#b91c1c', 'border-width': 3.5 } },
    { selector: 'node.group', style: { 'shape': 'round-rectangle', 'background-color': '#f1f5f9',
      'border-color': '#94a3b8', 'border-width': 1.5, 'text-valign': 'top', 'text-halign': 'center',
      'font-size': 14, 'font-weight': 'bold', 'color': '#334155', 'padding': 16, 'text-margin-y': -4 } },
    { selector: 'node.external-group', style: { 'border-style': 'dashed', 'background-color': '#fffaf3' } },
    { selector: 'edge', style: { 'curve-style': 'bezier', 'width': 1.5, 'line-color': '#64748b',
      'target-arrow-shape': 'triangle', 'target-arrow-color': '#64748b', 'arrow-scale': 1.1,
      'font-family': FONT, 'font-size': 11, 'color': '#334155', 'text-background-color': '#ffffff',
      'text-background-opacity': 0.9, 'text-background-padding': 2, 'label': '' } },
    { selector: 'edge.all', style: { 'line-color': '#c0392b', 'target-arrow-color': '#c0392b',
      'width': 2.5, 'color': '#c0392b' } },
    { selector: 'edge.dense', style: { 'curve-style': 'straight', 'opacity': 0.35, 'width': 1,
      'arrow-scale': 0.8 } },
    { selector: 'edge.dense.all', style: { 'width': 1.3 } },
    { selector: 'edge.labelled', style: { 'label': 'data(label)' } },
    { selector: 'edge.mine', style: { 'opacity': 1 } },
    { selector: 'node.focus', style: { 'border-width': 3.5, 'border-color': '#0f172a' } },
    { selector: '.faded', style: { 'opacity': 0.2 } },
    { selector: '.hidden, .ns-off', style: { 'display': 'none' } }
  ];

  // layout 'null': the real layout runs below; cytoscape's default grid costs seconds at 1,000 nodes.
  var cy = cytoscape({ container: document.getElementById('graph'), elements: elements, style: style,
                       layout: { name: 'null' }, wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 4 });
  // A flow (few edges) reads best left to right in ranks: dagre. A dense graph has no ranks worth
  // showing, so its workloads are tiled in a grid inside their namespace boxes (fcose without the
  // edges) and the edges drawn straight over them.
  var LAYOUT = DENSE
    ? { name: 'fcose', quality: 'proof', randomize: true, animate: false, fit: true, padding: 20,
        nodeDimensionsIncludeLabels: true, tile: true, tilingPaddingVertical: 14,
        tilingPaddingHorizontal: 14, packComponents: true }
    : { name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 55, edgeSep: 12, padding: 16, fit: true,
        animate: false, useDagreEdgeControlPoints: true, automaticDagreEdgeStyle: true };
  var focused = null;

  function shownNodes() { return cy.nodes().not('.ns-off'); }
  function layout() {
    var nodes = shownNodes();
    (DENSE ? nodes : nodes.union(nodes.edgesWith(nodes))).layout(LAYOUT).run();
  }
  function setEdgeLabels() {
    var on = document.getElementById('edge-labels').checked;
    cy.edges().removeClass('labelled');
    if (on) { cy.edges().addClass('labelled'); }
    if (focused) { focused.connectedEdges().addClass('labelled'); }
  }

  function listItems(ul, entries) {
    ul.textContent = '';
    if (!entries.length) {
      var none = document.createElement('li');
      none.textContent = 'none';
      none.className = 'muted';
      ul.appendChild(none);
    }
    entries.forEach(function (e) {
      var li = document.createElement('li');
      li.textContent = e.peer.data('title') + ' ';
      li.title = e.peer.id();
      var conns = document.createElement('span');
      conns.className = 'conns';
      conns.textContent = e.conns;
      li.appendChild(conns);
      li.addEventListener('click', function () { focus(e.peer); });
      ul.appendChild(li);
    });
  }
  function showSelection(node) {
    var box = document.getElementById('selection');
    box.hidden = !node;
    if (!node) { return; }
    document.getElementById('selected-name').textContent = node.data('detail');
    var edges = node.connectedEdges().not('.hidden');
    listItems(document.getElementById('ingress'), edges.filter(function (e) { return e.target().same(node); })
      .map(function (e) { return { peer: e.source(), conns: e.data('label') }; }));
    listItems(document.getElementById('egress'), edges.filter(function (e) { return e.source().same(node); })
      .map(function (e) { return { peer: e.target(), conns: e.data('label') }; }));
  }

  // Click a workload: only its own edges stay; its peers stay solid, every other node fades.
  function focus(node) {
    if (node.hasClass('ns-off')) { return; }
    focused = node;
    cy.batch(function () {
      cy.elements().removeClass('faded hidden focus mine');
      var edges = node.connectedEdges().addClass('mine');
      cy.edges().not(edges).addClass('hidden');
      var keep = edges.connectedNodes().union(node);
      cy.nodes().not('.group').not(keep).addClass('faded');
      node.addClass('focus');
    });
    setEdgeLabels();
    showSelection(node);
  }
  function reset() {
    focused = null;
    cy.batch(function () { cy.elements().removeClass('faded hidden focus mine'); });
    setEdgeLabels();
    showSelection(null);
  }
  cy.on('tap', 'node.workload, node.external', function (evt) { focus(evt.target); });
  cy.on('tap', function (evt) { if (evt.target === cy) { reset(); } });

  // Namespace filter: a hidden namespace takes its workloads and their edges along.
  var nsList = document.getElementById('ns-list');
  view.groups.forEach(function (g) {
    var label = document.createElement('label');
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.value = g;
    box.addEventListener('change', applyNamespaces);
    label.appendChild(box);
    label.appendChild(document.createTextNode(' ' + g + ' (' + cy.getElementById(groupId[g]).children().length + ')'));
    nsList.appendChild(label);
  });
  function applyNamespaces() {
    var off = {};
    nsList.querySelectorAll('input').forEach(function (b) { off[b.value] = !b.checked; });
    cy.batch(function () {
      cy.nodes().forEach(function (n) {
        if (off[n.data('ns')]) { n.addClass('ns-off'); } else { n.removeClass('ns-off'); }
      });
    });
    if (focused && focused.hasClass('ns-off')) { reset(); } else if (focused) { showSelection(focused); }
    layout();
  }
  function setAll(checked) {
    nsList.querySelectorAll('input').forEach(function (b) { b.checked = checked; });
    applyNamespaces();
  }
  document.getElementById('ns-all').addEventListener('click', function () { setAll(true); });
  document.getElementById('ns-none').addEventListener('click', function () { setAll(false); });

  var labelsBox = document.getElementById('edge-labels');
  labelsBox.checked = !DENSE;
  labelsBox.addEventListener('change', setEdgeLabels);
  document.getElementById('fit').addEventListener('click', function () { cy.fit(shownNodes(), 24); });

  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  document.getElementById('counts').textContent = [
    plural(doc.workloads.length, 'workload'), plural(doc.externals.length, 'external range'),
    plural(doc.connections.length, 'connection')].join(' · ');

  if (doc.exposure) {
    document.getElementById('legend-exposed').hidden = false;
    var exp = document.getElementById('exposure');
    exp.hidden = false;
    var names = { fromAllNamespaces: 'reachable from every namespace', fromAnyPod: 'reachable from any pod',
                  fromOutside: 'reachable from outside the cluster', toWholeWorld: 'can reach the whole world' };
    Object.keys(names).forEach(function (k) {
      var ids = doc.exposure[k] || [];
      var h = document.createElement('h2');
      h.textContent = names[k] + ' (' + ids.length + ')';
      var ul = document.createElement('ul');
      ids.forEach(function (id) { var li = document.createElement('li'); li.textContent = id; ul.appendChild(li); });
      document.getElementById('exposure-body').append(h, ul);
    });
  }
  if (doc.warnings && doc.warnings.length) {
    var warn = document.getElementById('warnings');
    warn.hidden = false;
    warn.querySelector('summary').textContent = plural(doc.warnings.length, 'warning');
    doc.warnings.forEach(function (w) {
      var li = document.createElement('li');
      li.textContent = w;
      document.getElementById('warning-list').appendChild(li);
    });
  }

  setEdgeLabels();
  layout();
  // For tests and for the console: the graph and the two interactions.
  window.netpolGraph = { cy: cy, focus: function (id) { focus(cy.getElementById(id)); }, reset: reset };
  document.body.setAttribute('data-ready', '1');
})();
